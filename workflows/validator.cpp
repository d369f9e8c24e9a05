#include "workflows/validator.h"

#include <algorithm>
#include <set>

#include "engine/common/echo.h"
#include "workflows/planner.h"

namespace agentrt::workflows {
namespace {

template <class T>
std::string names_of(const std::vector<T>& items) {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : ", ") + i.name;
  return out.empty() ? "none" : out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

// What a template may reference where it is written.
struct Scope {
  std::string where;  // "step 'solve' input", for messages
  bool steps = true;  // steps.* allowed
  std::string item;   // map variable, or empty
  bool loop = false;  // loop.index / loop.previous allowed
};

class Validator {
 public:
  Validator(const Workflow& wf, Diagnostics& d) : wf_(wf), d_(d) {}

  void run() {
    unique_names();
    for (const auto& t : wf_.tools)
      if (t.kind == ToolKind::builtin && !t.builtin.empty() &&
          std::find(builtin_tool_names().begin(), builtin_tool_names().end(), t.builtin) ==
              builtin_tool_names().end())
        d_.error(t.builtin_loc, "tool '" + t.name + "': unknown builtin '" + echo_value(t.builtin) +
                                    "' (builtins: " + join(builtin_tool_names()) + ")");
    for (const auto& a : wf_.agents)
      agent(a);
    for (const auto& s : wf_.steps)
      step(s);
    for (const auto& o : wf_.outputs)
      templ(o.value, Scope{"output '" + o.name + "'", true, "", false});
    find_cycles(wf_, d_);
  }

 private:
  void unique_names() {
    std::set<std::string> ids;
    for (const auto& s : wf_.steps)
      if (!s.id.empty() && !ids.insert(s.id).second)
        d_.error(s.id_loc, "duplicate step id '" + echo_value(s.id) + "'");
  }

  void agent(const AgentSpec& a) {
    if (!a.model.name.empty() && !wf_.find_model(a.model.name)) {
      d_.error(a.model.loc, "agent '" + a.name + "': unknown model '" + echo_value(a.model.name) +
                                "' (models: " + names_of(wf_.models) + ")");
    } else if (!wf_.model_of(a)) {
      d_.error(a.loc, "agent '" + a.name + "' must name its model: the workflow has " +
                          std::to_string(wf_.models.size()) + " and none is called 'default'");
    }
    for (const auto& t : a.tools)
      if (!wf_.find_tool(t.name))
        d_.error(t.loc, "agent '" + a.name + "': unknown tool '" + echo_value(t.name) +
                            "' (tools: " + names_of(wf_.tools) + ")");
    templ(a.system, Scope{"agent '" + a.name + "' system prompt", false, "", false});
  }

  void step(const Step& s) {
    const std::string what = "step '" + echo_value(s.id) + "'";
    if (s.agent.loc.known() && !wf_.find_agent(s.agent.name))
      d_.error(s.agent.loc, what + ": unknown agent '" + echo_value(s.agent.name) +
                                "' (agents: " + names_of(wf_.agents) + ")");
    for (const auto& a : s.after) {
      if (a.name == s.id)
        d_.error(a.loc, what + " cannot come after itself");
      else if (wf_.step_index(a.name) < 0)
        d_.error(a.loc, what + " comes after unknown step '" + echo_value(a.name) + "'");
    }
    templ(s.input, Scope{what + " input", true, s.map ? s.map->as : "", s.loop.has_value()});
    if (s.map) templ(s.map->over, Scope{what + " map.over", true, "", false});
    if (s.best_of) best_of(*s.best_of, what);
    if (s.when) condition(*s.when, Scope{what + " when", true, "", false});
  }

  // A `when:` condition's paths: inputs and steps only (it is read before any unit).
  void condition(const ConditionText& c, const Scope& scope) {
    for (const auto& e : c.cond.references()) {
      std::string problem = check_path(e.path, scope);
      if (!problem.empty() && e.path.size() == 1 && e.filters.empty())
        problem += "; text is quoted: \"" + echo_value(e.path[0]) + "\"";
      if (!problem.empty())
        d_.error(c.loc_of(e.offset), scope.where + ": " + echo_value(e.source) + " " + problem);
    }
  }

  void best_of(const BestOfSpec& b, const std::string& what) {
    if (b.n_template) templ(*b.n_template, Scope{what + " best_of.n", false, "", false});
    if (b.temperature_template)
      templ(*b.temperature_template, Scope{what + " best_of.temperature", false, "", false});
    const bool verifier = b.aggregate == Aggregate::verifier;
    const bool scorer = b.aggregate == Aggregate::scorer;
    if (verifier && b.verifier.name.empty())
      d_.error(b.loc, what + ": aggregate 'verifier' needs best_of.verifier (an agent)");
    if (scorer && b.scorer.name.empty())
      d_.error(b.loc, what + ": aggregate 'scorer' needs best_of.scorer (a tool)");
    if (!b.verifier.name.empty()) {
      if (!verifier)
        d_.error(b.verifier.loc, what + ": best_of.verifier is used only with aggregate: verifier");
      else if (!wf_.find_agent(b.verifier.name))
        d_.error(b.verifier.loc, what + ": unknown verifier agent '" + echo_value(b.verifier.name) +
                                     "' (agents: " + names_of(wf_.agents) + ")");
    }
    if (!b.scorer.name.empty()) {
      if (!scorer)
        d_.error(b.scorer.loc, what + ": best_of.scorer is used only with aggregate: scorer");
      else if (const ToolSpec* t = wf_.find_tool(b.scorer.name); !t)
        d_.error(b.scorer.loc, what + ": unknown scorer tool '" + echo_value(b.scorer.name) +
                                   "' (tools: " + names_of(wf_.tools) + ")");
      else if (t->kind == ToolKind::mcp)
        d_.error(b.scorer.loc, what + ": scorer '" + t->name +
                                   "' is an MCP server, not one tool; use a builtin or command "
                                   "tool");
    }
    if (b.early_stop > 0 && b.aggregate != Aggregate::majority)
      d_.error(b.loc, what + ": best_of.early_stop works only with aggregate: majority");
  }

  void templ(const TemplateText& t, const Scope& scope) {
    for (const auto& e : t.tpl.expressions()) {
      if (e.literal) continue;
      const std::string problem = check_path(e.path, scope);
      if (!problem.empty())
        d_.error(t.loc_of(e.offset), scope.where + ": " + echo_value(e.source) + " " + problem);
    }
  }

  // Empty when the path names something; otherwise what is wrong with it.
  std::string check_path(const std::vector<std::string>& p, const Scope& scope) {
    const std::string& head = p[0];
    if (head == "inputs") {
      if (p.size() != 2) return "references nothing: write inputs.NAME";
      if (!wf_.find_input(p[1]))
        return "references undeclared input '" + echo_value(p[1]) +
               "' (inputs: " + names_of(wf_.inputs) + ")";
      return "";
    }
    if (head == "steps" && !scope.steps)
      return "references a step, but " + scope.where +
             " may use only inputs (step outputs belong in a step's input)";
    if (head == "steps") return check_step_path(p);
    if (!scope.item.empty() && head == scope.item) {
      return p.size() == 1 ? "" : "references nothing: the map item '" + head + "' has no fields";
    }
    if (head == "loop") {
      if (!scope.loop) return "references nothing: loop.* exists only in a loop step's input";
      if (p.size() == 2 && (p[1] == "index" || p[1] == "previous")) return "";
      return "references nothing: a loop has loop.index and loop.previous";
    }
    std::string expected = "inputs.NAME, steps.ID.FIELD";
    if (!scope.item.empty()) expected += ", " + scope.item;
    if (scope.loop) expected += ", loop.index, loop.previous";
    return "references nothing (expected " + expected + ")";
  }

  std::string check_step_path(const std::vector<std::string>& p) {
    if (p.size() != 3) return "references nothing: write steps.ID.FIELD (e.g. steps.ID.output)";
    const int j = wf_.step_index(p[1]);
    if (j < 0) {
      std::string ids;
      for (const auto& s : wf_.steps)
        ids += (ids.empty() ? "" : ", ") + s.id;
      return "references unknown step '" + echo_value(p[1]) + "' (steps: " + ids + ")";
    }
    const auto fields = step_fields(wf_.steps[static_cast<std::size_t>(j)]);
    if (p[2] == "tool_results") return "";  // every step's: its agents' tool results
    if (std::find(fields.begin(), fields.end(), p[2]) == fields.end())
      return "references nothing: step '" + p[1] + "' has no field '" + echo_value(p[2]) +
             "' (fields: " + join(fields) + ")";
    return "";
  }

  const Workflow& wf_;
  Diagnostics& d_;
};

}  // namespace

std::vector<std::string> step_fields(const Step& s) {
  std::vector<std::string> f{"output"};
  if (s.best_of) {
    f.push_back("answer");
    f.push_back("confidence");
  }
  for (const auto& x : s.extract)
    if (std::find(f.begin(), f.end(), x.name) == f.end()) f.push_back(x.name);
  if (s.output_schema)
    for (const auto& name : s.output_schema->fields)
      if (std::find(f.begin(), f.end(), name) == f.end()) f.push_back(name);
  return f;
}

void validate_workflow(const Workflow& wf, Diagnostics& diags) {
  Validator(wf, diags).run();
}

}  // namespace agentrt::workflows
