#include "workflows/loader.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <exception>
#include <sstream>

#include "engine/common/echo.h"

#include "workflows/inputs.h"
#include "workflows/kv_reuse_loader.h"
#include "workflows/output_schema_loader.h"
#include "workflows/step_control_loader.h"
#include "workflows/tool_loader.h"
#include "workflows/validator.h"
#include "workflows/yaml_reader.h"

namespace agentrt::workflows {
namespace {

constexpr int kMaxInt = 1 << 30;

bool is_template(const YAML::Node& n) {
  return n.IsScalar() && n.Scalar().find("{{") != std::string::npos;
}

class Loader {
 public:
  Loader(std::string_view src, Workflow& wf, Diagnostics& d) : r_(src, d), wf_(wf) {}

  void top(const YAML::Node& root) {
    auto e = r_.mapping(root, "workflow",
                        {"name", "description", "models", "tools", "agents", "inputs", "steps",
                         "outputs", "kv_reuse", "blend_recompute", "blend_anchors"});
    if (!e) return;
    r_.require(*e, root, "agents", "workflow");
    r_.require(*e, root, "steps", "workflow");
    for (const auto& x : e->all()) {
      if (x.key == "name") r_.read(x, wf_.name, "name");
      if (x.key == "description") r_.read(x, wf_.description, "description");
      if (x.key == "models") each(x, "models", &Loader::model);
      if (x.key == "tools") each(x, "tools", &Loader::tool);
      if (x.key == "agents") each(x, "agents", &Loader::agent);
      if (x.key == "inputs") each(x, "inputs", &Loader::input);
      if (x.key == "outputs") each(x, "outputs", &Loader::output);
      if (x.key == "steps") steps(x);
      load_kv_reuse(r_, x, "workflow", wf_.kv_reuse);
    }
    check_kv_reuse(r_, *e, "workflow", wf_.kv_reuse);
    if (wf_.models.empty()) wf_.models.emplace_back().name = "default";
  }

 private:
  using Section = void (Loader::*)(const YamlEntry&, const std::string&);

  void each(const YamlEntry& x, const std::string& what, Section fn) {
    auto items = r_.mapping(x.value, what, {});
    if (!items) return;
    for (const auto& item : items->all()) {
      if (!r_.check_name(item.key_node, item.key, what + " name")) continue;
      (this->*fn)(item, what + "." + item.key);
    }
  }

  void model(const YamlEntry& x, const std::string& what) {
    ModelSpec& m = wf_.models.emplace_back();
    m.name = x.key;
    m.loc = r_.loc(x.key_node);
    if (!x.value.IsNull()) {
      auto e = r_.mapping(x.value, what, {"path", "backend", "device", "kv_blocks", "threads"});
      if (!e) return;
      for (const auto& f : e->all()) {
        if (f.key == "path") r_.read(f, m.path, what + ".path");
        if (f.key == "device") r_.read(f, m.device, what + ".device", 0, 64);
        if (f.key == "kv_blocks") r_.read(f, m.kv_blocks, what + ".kv_blocks", 0, kMaxInt);
        if (f.key == "threads") r_.read(f, m.threads, what + ".threads", 0, 1024);
        if (f.key == "backend" && r_.read(f, m.backend, what + ".backend") && m.backend != "cpu" &&
            m.backend != "cuda")
          r_.diags().error(r_.loc(f.value), what + ".backend: must be cpu or cuda, got '" +
                                                echo_value(m.backend) + "'");
      }
    }
  }

  void tool(const YamlEntry& x, const std::string& what) {
    ToolSpec& t = wf_.tools.emplace_back();
    t.name = x.key;
    t.loc = r_.loc(x.key_node);
    load_tool(r_, x, what, t);
  }

  void sampling(const YamlEntry& x, SamplingSpec& s, const std::string& what) {
    auto e =
        r_.mapping(x.value, what, {"temperature", "top_p", "top_k", "min_p", "max_tokens", "seed"});
    if (!e) return;
    for (const auto& f : e->all()) {
      const std::string w = what + "." + f.key;
      if (f.key == "temperature") r_.read(f, s.temperature, w, 0.0, 100.0);
      if (f.key == "top_p") r_.read(f, s.top_p, w, 1e-6, 1.0);
      if (f.key == "top_k") r_.read(f, s.top_k, w, 0, kMaxInt);
      if (f.key == "min_p") r_.read(f, s.min_p, w, 0.0, 1.0);
      if (f.key == "max_tokens") r_.read(f, s.max_tokens, w, 1, 1 << 20);
      int seed = 0;
      if (f.key == "seed" && r_.read(f, seed, w, 0, kMaxInt))
        s.seed = static_cast<std::uint64_t>(seed);
    }
  }

  void agent(const YamlEntry& x, const std::string& what) {
    AgentSpec& a = wf_.agents.emplace_back();
    a.name = x.key;
    a.loc = r_.loc(x.key_node);
    if (!x.value.IsNull()) {
      auto e = r_.mapping(x.value, what,
                          {"model", "system", "tools", "sampling", "max_turns", "kv_reuse",
                           "blend_recompute", "blend_anchors"});
      if (!e) return;
      for (const auto& f : e->all()) {
        const std::string w = what + "." + f.key;
        if (f.key == "model") r_.read(f, a.model, w);
        if (f.key == "system") r_.read(f, a.system, w);
        if (f.key == "tools") r_.read(f, a.tools, w);
        if (f.key == "sampling") sampling(f, a.sampling, w);
        if (f.key == "max_turns") r_.read(f, a.max_turns, w, 1, 256);
        load_kv_reuse(r_, f, what, a.kv_reuse);
      }
      check_kv_reuse(r_, *e, what, a.kv_reuse);
    }
  }

  void input(const YamlEntry& x, const std::string& what) {
    InputSpec& in = wf_.inputs.emplace_back();
    in.name = x.key;
    in.loc = r_.loc(x.key_node);
    if (!x.value.IsNull()) {
      auto e = r_.mapping(x.value, what, {"type", "default", "description"});
      if (!e) return;
      if (const auto* t = e->get("type")) input_type(*t, in, what + ".type");
      if (const auto* d = e->get("description")) r_.read(*d, in.description, what + ".description");
      if (const auto* d = e->get("default")) input_default(*d, in, what + ".default");
    }
  }

  void input_type(const YamlEntry& t, InputSpec& in, const std::string& what) {
    std::string s;
    if (!r_.read(t, s, what)) return;
    static const std::pair<const char*, InputType> kTypes[] = {{"string", InputType::string},
                                                               {"int", InputType::integer},
                                                               {"number", InputType::number},
                                                               {"bool", InputType::boolean},
                                                               {"list", InputType::list}};
    for (const auto& [name, type] : kTypes)
      if (s == name) {
        in.type = type;
        return;
      }
    r_.diags().error(
        r_.loc(t.value),
        what + ": must be one of string, int, number, bool, list; got '" + echo_value(s) + "'");
  }

  void input_default(const YamlEntry& d, InputSpec& in, const std::string& what) {
    if (in.type == InputType::list) {
      std::vector<Ref> items;
      if (!r_.read(d, items, what)) return;
      if (items.size() > kMaxListItems) {  // before copying them
        r_.diags().error(r_.loc(d.value), what + ": a list may have at most " +
                                              std::to_string(kMaxListItems) + " items, got " +
                                              std::to_string(items.size()));
        return;
      }
      std::vector<std::string> list;
      for (auto& i : items)
        list.push_back(std::move(i.name));
      Value v(std::move(list));
      if (auto ok = v.to_items(what); !ok.ok()) {
        r_.diags().error(r_.loc(d.value), ok.error().message);
        return;
      }
      in.default_value = std::move(v);
      return;
    }
    std::string s;
    if (!r_.read(d, s, what)) return;
    if (auto st = check_input_value(in, s); !st.ok()) {
      r_.diags().error(r_.loc(d.value), what + ": " + st.error().message);
      return;
    }
    in.default_value = Value(s);
  }

  void output(const YamlEntry& x, const std::string& what) {
    OutputSpec o;
    o.name = x.key;
    if (r_.read(x, o.value, what)) wf_.outputs.push_back(std::move(o));
  }

  void steps(const YamlEntry& x) {
    if (!x.value.IsSequence()) {
      r_.diags().error(r_.loc(x.value), "steps: expected a list of steps, got " +
                                            std::string(x.value.IsMap() ? "a mapping" : "a value"));
      return;
    }
    if (x.value.size() == 0) r_.diags().error(r_.loc(x.value), "steps: the list is empty");
    for (std::size_t i = 0; i < x.value.size(); ++i)
      step(x.value[i], "steps[" + std::to_string(i) + "]");
  }

  void step(const YAML::Node& n, std::string what) {
    if (n.IsMap()) {
      const YAML::Node id = n["id"];  // absent: an undefined node (IsScalar would throw)
      if (id.IsDefined() && id.IsScalar()) what = "step '" + echo_value(id.Scalar()) + "'";
    }
    auto e = r_.mapping(
        n, what,
        {"id", "agent", "input", "after", "extract", "output_schema", "best_of", "map", "loop",
         "when", "timeout", "retries", "backoff", "kv_reuse", "blend_recompute", "blend_anchors"});
    if (!e) return;
    Step s;
    s.loc = r_.loc(n);
    if (const auto* id = e->get("id"); id && r_.read(*id, s.id, what + ".id")) {
      s.id_loc = r_.loc(id->value);
      r_.check_name(id->value, s.id, "step id");
    }
    r_.require(*e, n, "id", what);
    r_.require(*e, n, "agent", what);
    r_.require(*e, n, "input", what);
    for (const auto& f : e->all()) {
      if (f.key == "agent") r_.read(f, s.agent, what + ".agent");
      if (f.key == "input") r_.read(f, s.input, what + ".input");
      if (f.key == "after") r_.read(f, s.after, what + ".after");
      if (f.key == "extract") extract(f, s, what + ".extract");
      if (f.key == "output_schema") load_output_schema(r_, f, what + ".output_schema", s);
      if (f.key == "best_of") best_of(f, s, what + ".best_of");
      if (f.key == "map") map(f, s, what + ".map");
      if (f.key == "loop") loop(f, s, what + ".loop");
      load_step_control(r_, f, what, s);  // when, timeout, retries, backoff
      load_kv_reuse(r_, f, what, s.kv_reuse);
    }
    check_step_control(r_, *e, what, s);
    check_kv_reuse(r_, *e, what, s.kv_reuse);
    if (s.map && s.loop)
      r_.diags().error(s.loop->loc, what + ": a step has either 'map' or 'loop', not both");
    wf_.steps.push_back(std::move(s));
  }

  void extract(const YamlEntry& x, Step& s, const std::string& what) {
    auto e = r_.mapping(x.value, what, {});
    if (!e) return;
    for (const auto& f : e->all()) {
      ExtractSpec x2;
      x2.name = f.key;
      if (!r_.check_name(f.key_node, f.key, "extracted field")) continue;
      if (f.key == "output")
        r_.diags().error(r_.loc(f.key_node), what + ": 'output' is reserved for the step's text");
      if (r_.read_regex(f, x2.regex, x2.loc, what + "." + f.key)) s.extract.push_back(x2);
    }
  }

  void best_of(const YamlEntry& x, Step& s, const std::string& what) {
    auto e =
        r_.mapping(x.value, what,
                   {"n", "aggregate", "answer", "early_stop", "verifier", "scorer", "temperature"});
    if (!e) return;
    BestOfSpec b;
    b.loc = r_.loc(x.value);
    r_.require(*e, x.value, "n", what);
    b.answer_loc = b.loc;
    for (const auto& f : e->all()) {
      const std::string w = what + "." + f.key;
      if ((f.key == "n" || f.key == "temperature") && is_template(f.value)) {
        TemplateText t;
        if (r_.read(f, t, w)) (f.key == "n" ? b.n_template : b.temperature_template) = t;
        continue;
      }
      if (f.key == "n") r_.read(f, b.n, w, 1, 1024);
      if (f.key == "answer") r_.read_regex(f, b.answer, b.answer_loc, w);
      if (f.key == "early_stop") r_.read(f, b.early_stop, w, 0, 1024);
      if (f.key == "verifier") r_.read(f, b.verifier, w);
      if (f.key == "scorer") r_.read(f, b.scorer, w);
      double t = 0;
      if (f.key == "temperature" && r_.read(f, t, w, 0.0, 100.0)) b.temperature = t;
      if (f.key == "aggregate") aggregate(f, b, w);
    }
    if (b.early_stop > b.n && !b.n_template)
      r_.diags().error(r_.loc(e->get("early_stop")->value),
                       what + ".early_stop: must be at most n (" + std::to_string(b.n) + ")");
    s.best_of = std::move(b);
  }

  void aggregate(const YamlEntry& f, BestOfSpec& b, const std::string& what) {
    std::string a;
    if (!r_.read(f, a, what)) return;
    for (auto v : {Aggregate::majority, Aggregate::logprob, Aggregate::verifier, Aggregate::scorer})
      if (a == to_string(v)) {
        b.aggregate = v;
        return;
      }
    r_.diags().error(
        r_.loc(f.value),
        what + ": must be majority, logprob, verifier or scorer; got '" + echo_value(a) + "'");
  }

  void map(const YamlEntry& x, Step& s, const std::string& what) {
    auto e = r_.mapping(x.value, what, {"over", "as", "concurrency"});
    if (!e) return;
    MapSpec m;
    m.loc = r_.loc(x.value);
    r_.require(*e, x.value, "over", what);
    for (const auto& f : e->all()) {
      if (f.key == "over") r_.read(f, m.over, what + ".over");
      if (f.key == "as" && r_.read(f, m.as, what + ".as"))
        r_.check_name(f.value, m.as, what + ".as");
      if (f.key == "concurrency") r_.read(f, m.concurrency, what + ".concurrency", 0, 4096);
    }
    if (m.as == "inputs" || m.as == "steps" || m.as == "loop")
      r_.diags().error(r_.loc(e->get("as")->value),
                       what + ".as: '" + echo_value(m.as) + "' is reserved; pick another name");
    s.map = std::move(m);
  }

  void loop(const YamlEntry& x, Step& s, const std::string& what) {
    auto e = r_.mapping(x.value, what, {"max_iterations", "until"});
    if (!e) return;
    LoopSpec l;
    l.loc = r_.loc(x.value);
    r_.require(*e, x.value, "max_iterations", what);
    for (const auto& f : e->all()) {
      if (f.key == "max_iterations") r_.read(f, l.max_iterations, what + "." + f.key, 1, 1000);
      if (f.key == "until") r_.read_regex(f, l.until, l.until_loc, what + ".until");
    }
    s.loop = std::move(l);
  }

  YamlReader r_;
  Workflow& wf_;
};

SourceLoc mark_loc(const YAML::Mark& m) {
  if (m.is_null() || m.line < 0) return {1, 1};
  return {m.line + 1, m.column + 1};
}

// Counts documents through yaml-cpp's event parser, noting where the second one starts.
class FirstMark : public YAML::EventHandler {
 public:
  YAML::Mark first = YAML::Mark::null_mark();
  bool seen = false;
  void OnDocumentStart(const YAML::Mark&) override {
    seen = false;
    first = YAML::Mark::null_mark();
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { note(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { note(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    note(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    note(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    note(m);
  }
  void OnMapEnd() override {}

 private:
  void note(const YAML::Mark& m) {
    if (!seen) first = m, seen = true;
  }
};

struct DocumentScan {
  int documents = 0;  // counted up to 3
  YAML::Mark second = YAML::Mark::null_mark();
  bool stuck = false;  // the parser made no progress between documents
};

DocumentScan scan_documents(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  FirstMark h;
  DocumentScan scan;
  YAML::Mark prev = YAML::Mark::null_mark();
  while (scan.documents < 3 && parser.HandleNextDocument(h)) {
    ++scan.documents;
    if (scan.documents == 2) scan.second = h.first;
    if (scan.documents >= 2 && h.first.pos == prev.pos) scan.stuck = true;
    prev = h.first;
  }
  return scan;
}

// The line and column (1-based) of byte `offset` of text.
SourceLoc place_of(std::string_view text, std::size_t offset) {
  const std::string_view before = text.substr(0, offset);
  const auto nl = before.rfind('\n');
  int line = 1;
  for (char c : before)
    line += c == '\n';
  const std::size_t col = nl == std::string_view::npos ? offset : offset - nl - 1;
  return {line, static_cast<int>(col) + 1};
}

}  // namespace

LoadResult load_workflow(std::string_view yaml, const std::string& file) {
  LoadResult out{Workflow{}, Diagnostics(file)};
  out.workflow.file = file;
  auto& d = out.diagnostics;
  if (yaml.size() > kMaxWorkflowBytes) {
    d.error({1, 1}, "file is larger than " + std::to_string(kMaxWorkflowBytes) + " bytes");
    return out;
  }
  if (const auto nul = yaml.find('\0'); nul != std::string_view::npos) {
    const SourceLoc at = place_of(yaml, nul);
    d.error(at, "NUL byte at " + std::to_string(at.line) + ":" + std::to_string(at.col) +
                    "; YAML text may not contain NUL");
    return out;
  }
  try {
    const std::string text(yaml);
    // Not YAML::LoadAll: yaml-cpp 0.7.0 yields empty documents forever at a stray ',' at
    // document level (seen: "," or "\"x\" ,"), so documents are counted with a bound.
    const DocumentScan scan = scan_documents(text);
    if (scan.documents == 0) {
      d.error({1, 1}, "workflow: the file is empty");
      return out;
    }
    if (scan.stuck) {
      const bool comma = scan.second.pos >= 0 &&
                         static_cast<std::size_t>(scan.second.pos) < text.size() &&
                         text[static_cast<std::size_t>(scan.second.pos)] == ',';
      d.error(mark_loc(scan.second), comma ? "YAML syntax: ',' outside a flow collection"
                                           : "YAML syntax: unexpected content");
      return out;
    }
    if (scan.documents > 1)
      d.error(mark_loc(scan.second), "workflow: only one YAML document is allowed");
    const YAML::Node root = YAML::Load(text);
    Loader(text, out.workflow, d).top(root);
    out.parsed = true;
  } catch (const YAML::DeepRecursion& e) {  // yaml-cpp calls it "bad file"
    d.error(mark_loc(e.mark), "YAML nested too deep (more than " + std::to_string(kMaxYamlDepth) +
                                  " levels of lists and mappings)");
  } catch (const YAML::Exception& e) {
    d.error(mark_loc(e.mark), "YAML syntax: " + e.msg);
  } catch (const std::exception& e) {  // yaml-cpp may throw others (e.g. bad_alloc)
    d.error({1, 1}, std::string("YAML: ") + e.what());
  }
  return out;
}

LoadResult load_workflow_file(const std::string& path) {
  auto text = read_file_bounded(path, kMaxWorkflowBytes);
  if (!text.ok()) {
    LoadResult out{Workflow{}, Diagnostics(path)};
    // The diagnostic is printed after the path already: "wf.yaml: a FIFO, not a regular file".
    std::string message = text.error().message;
    if (message.starts_with(path + ": ")) message.erase(0, path.size() + 2);
    out.diagnostics.error({}, message);
    return out;
  }
  return load_workflow(*text, path);
}

LoadResult check_workflow_file(const std::string& path) {
  LoadResult r = load_workflow_file(path);
  if (r.parsed) validate_workflow(r.workflow, r.diagnostics);
  return r;
}

}  // namespace agentrt::workflows
