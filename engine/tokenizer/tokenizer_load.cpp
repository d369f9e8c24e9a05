// Loading a Tokenizer from tokenizer.json (+ tokenizer_config.json). Every failure names the
// file and the JSON pointer of the offending value; nlohmann exceptions stay inside.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "engine/common/file_read.h"
#include "engine/common/json_depth.h"
#include "engine/common/json_pointer.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_impl.h"

namespace agentrt::tokenizer {
namespace {

using nlohmann::json;

constexpr const char* kGpt2Regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// Builds errors of the form "<file>: <pointer>: <message>".
struct Ctx {
  const std::string& file;
  Error err(ErrorCode code, const std::string& ptr, const std::string& msg) const {
    return make_error(code, file + ": " + (ptr.empty() ? "/" : ptr) + ": " + msg);
  }
  Error parse(const std::string& ptr, const std::string& msg) const {
    return err(ErrorCode::parse, ptr, msg);
  }
  Error unsupported(const std::string& ptr, const std::string& msg) const {
    return err(ErrorCode::unsupported, ptr, msg);
  }
};

// Escapes a key for use in a JSON pointer (RFC 6901).
std::string pointer_key(const std::string& key) {
  return json_pointer_token(key);
}

std::string type_of(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>()
                                                                      : "";
}

Result<std::string> get_string(const Ctx& c, const json& j, const std::string& key,
                               const std::string& ptr) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string())
    return c.parse(ptr + "/" + key, "expected a string");
  return j[key].get<std::string>();
}

bool get_bool(const json& j, const char* key, bool fallback) {
  return j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : fallback;
}

Status load_vocab(const Ctx& c, const json& model, BpeModel& bpe) {
  if (!model.contains("vocab") || !model["vocab"].is_object())
    return c.parse("/model/vocab", "expected an object of token -> id");
  for (const auto& [token, id] : model["vocab"].items()) {
    const std::string ptr = "/model/vocab/" + pointer_key(token);
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > INT32_MAX)
      return c.parse(ptr, "expected a non-negative 32-bit integer id");
    if (Status s = bpe.add_token(token, id.get<std::int32_t>()); !s.ok())
      return c.parse(ptr, s.error().message);
  }
  return ok_status();
}

Status load_merges(const Ctx& c, const json& model, BpeModel& bpe) {
  if (!model.contains("merges")) return ok_status();
  const json& merges = model["merges"];
  if (!merges.is_array()) return c.parse("/model/merges", "expected an array");
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const std::string ptr = "/model/merges/" + std::to_string(i);
    const json& m = merges[i];
    std::string left, right;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const std::size_t sp = s.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 >= s.size() ||
          s.find(' ', sp + 1) != std::string::npos)
        return c.parse(ptr, "merge '" + s + "' must be two tokens separated by a space");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
    } else {
      return c.parse(ptr, "merge must be a string \"a b\" or a pair [\"a\", \"b\"]");
    }
    if (Status s = bpe.add_merge(left, right); !s.ok()) return c.parse(ptr, s.error().message);
  }
  return ok_status();
}

Status load_model(const Ctx& c, const json& root, Tokenizer::Impl& impl) {
  if (!root.contains("model") || !root["model"].is_object())
    return c.parse("/model", "expected an object");
  const json& model = root["model"];
  const std::string type = type_of(model);
  if (type != "BPE")
    return c.unsupported("/model/type", "model type '" + type + "' is not supported (only BPE)");
  if (get_bool(model, "byte_fallback", false))
    return c.unsupported("/model/byte_fallback", "byte_fallback is not supported");
  if (model.contains("dropout") && model["dropout"].is_number() &&
      model["dropout"].get<double>() > 0)
    return c.unsupported("/model/dropout", "BPE dropout is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
      return c.unsupported(std::string("/model/") + key, "a non-empty affix is not supported");
  AGENTRT_TRY(load_vocab(c, model, impl.model));
  AGENTRT_TRY(load_merges(c, model, impl.model));
  impl.model.set_options({get_bool(model, "ignore_merges", false), 1 << 16});
  return ok_status();
}

Status load_added(const Ctx& c, const json& root, Tokenizer::Impl& impl) {
  if (!root.contains("added_tokens") || root["added_tokens"].is_null()) return ok_status();
  const json& list = root["added_tokens"];
  if (!list.is_array()) return c.parse("/added_tokens", "expected an array");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string ptr = "/added_tokens/" + std::to_string(i);
    const json& t = list[i];
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() ||
        t["id"].get<std::int64_t>() < 0 || t["id"].get<std::int64_t>() > kMaxTokenId)
      return c.parse(ptr + "/id",
                     "expected an integer id in [0, " + std::to_string(kMaxTokenId) + "]");
    auto content = get_string(c, t, "content", ptr);
    if (!content.ok()) return content.error();
    if (content->empty()) return c.parse(ptr + "/content", "added token content is empty");
    AddedToken a{t["id"].get<std::int32_t>(),     *content,
                 get_bool(t, "special", false),   get_bool(t, "single_word", false),
                 get_bool(t, "lstrip", false),    get_bool(t, "rstrip", false),
                 get_bool(t, "normalized", false)};
    impl.added.add(a);
    if (static_cast<std::size_t>(a.id) >= impl.added_by_id.size())
      impl.added_by_id.resize(static_cast<std::size_t>(a.id) + 1);
    impl.added_by_id[static_cast<std::size_t>(a.id)] = a;
  }
  return ok_status();
}

Status load_normalizer(const Ctx& c, const json& n, const std::string& ptr, Tokenizer::Impl& impl) {
  if (n.is_null()) return ok_status();
  const std::string type = type_of(n);
  if (type == "NFC") {
    impl.nfc = true;
    return ok_status();
  }
  if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
    for (std::size_t i = 0; i < n["normalizers"].size(); ++i)
      AGENTRT_TRY(
          load_normalizer(c, n["normalizers"][i], ptr + "/normalizers/" + std::to_string(i), impl));
    return ok_status();
  }
  return c.unsupported(ptr + "/type", "normalizer '" + type + "' is not supported (null or NFC)");
}

Status load_pre_step(const Ctx& c, const json& p, const std::string& ptr, bool first,
                     Tokenizer::Impl& impl) {
  const std::string type = type_of(p);
  PreTokenizerStep step;
  std::string pattern;
  if (type == "Split") {
    const json* pat = p.contains("pattern") ? &p["pattern"] : nullptr;
    if (pat && pat->is_object() && pat->contains("Regex") && (*pat)["Regex"].is_string()) {
      pattern = (*pat)["Regex"].get<std::string>();
    } else if (pat && pat->is_object() && pat->contains("String") && (*pat)["String"].is_string()) {
      pattern = "\\Q" + (*pat)["String"].get<std::string>() + "\\E";
    } else {
      return c.parse(ptr + "/pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
    }
    if (!p.contains("behavior") || p["behavior"] != "Isolated")
      return c.unsupported(ptr + "/behavior", "only the Isolated split behavior is supported");
    if (get_bool(p, "invert", false))
      return c.unsupported(ptr + "/invert", "invert is not supported");
  } else if (type == "ByteLevel") {
    step.kind = PreTokenizerStep::Kind::byte_level;
    step.use_regex = get_bool(p, "use_regex", true);
    if (step.use_regex) pattern = kGpt2Regex;
    if (get_bool(p, "add_prefix_space", false)) {
      if (!first)
        return c.unsupported(ptr + "/add_prefix_space",
                             "add_prefix_space is supported only on the first pre-tokenizer");
      impl.add_prefix_space = true;
    }
  } else {
    return c.unsupported(ptr + "/type",
                         "pre-tokenizer '" + type + "' is not supported (Split, ByteLevel)");
  }
  if (!pattern.empty()) {
    auto re = RegexSplitter::compile(pattern);
    if (!re.ok()) return c.parse(ptr + "/pattern", re.error().message);
    step.regex = std::move(*re);
  }
  impl.steps.push_back(std::move(step));
  return ok_status();
}

Status load_pre_tokenizer(const Ctx& c, const json& root, Tokenizer::Impl& impl) {
  if (!root.contains("pre_tokenizer") || root["pre_tokenizer"].is_null()) return ok_status();
  const json& p = root["pre_tokenizer"];
  if (type_of(p) != "Sequence") return load_pre_step(c, p, "/pre_tokenizer", true, impl);
  if (!p.contains("pretokenizers") || !p["pretokenizers"].is_array())
    return c.parse("/pre_tokenizer/pretokenizers", "expected an array");
  for (std::size_t i = 0; i < p["pretokenizers"].size(); ++i)
    AGENTRT_TRY(load_pre_step(c, p["pretokenizers"][i],
                              "/pre_tokenizer/pretokenizers/" + std::to_string(i), i == 0, impl));
  return ok_status();
}

Status load_template(const Ctx& c, const json& p, const std::string& ptr, Tokenizer::Impl& impl) {
  if (!p.contains("single") || !p["single"].is_array())
    return c.parse(ptr + "/single", "expected an array");
  const json& specials = p.contains("special_tokens") ? p["special_tokens"] : json::object();
  bool seen_sequence = false;
  for (std::size_t i = 0; i < p["single"].size(); ++i) {
    const json& item = p["single"][i];
    const std::string iptr = ptr + "/single/" + std::to_string(i);
    if (item.contains("Sequence")) {
      seen_sequence = true;
      continue;
    }
    if (!item.contains("SpecialToken") || !item["SpecialToken"].contains("id") ||
        !item["SpecialToken"]["id"].is_string())
      return c.parse(iptr, "expected {\"SpecialToken\": {\"id\": ...}} or {\"Sequence\": ...}");
    const std::string name = item["SpecialToken"]["id"].get<std::string>();
    if (!specials.contains(name) || !specials[name].contains("ids") ||
        !specials[name]["ids"].is_array())
      return c.parse(ptr + "/special_tokens", "special token '" + name + "' is not defined");
    for (const json& id : specials[name]["ids"]) {
      if (!id.is_number_integer())
        return c.parse(ptr + "/special_tokens/" + name + "/ids", "expected integer ids");
      (seen_sequence ? impl.suffix_ids : impl.prefix_ids).push_back(id.get<std::int32_t>());
    }
  }
  return ok_status();
}

Status load_post_processor(const Ctx& c, const json& p, const std::string& ptr,
                           Tokenizer::Impl& impl) {
  if (p.is_null()) return ok_status();
  const std::string type = type_of(p);
  if (type == "ByteLevel") return ok_status();  // only changes offsets
  if (type == "TemplateProcessing") return load_template(c, p, ptr, impl);
  if (type == "Sequence" && p.contains("processors") && p["processors"].is_array()) {
    for (std::size_t i = 0; i < p["processors"].size(); ++i)
      AGENTRT_TRY(load_post_processor(c, p["processors"][i],
                                      ptr + "/processors/" + std::to_string(i), impl));
    return ok_status();
  }
  return c.unsupported(ptr + "/type", "post-processor '" + type + "' is not supported");
}

Status load_decoder(const Ctx& c, const json& root) {
  if (!root.contains("decoder"))
    return c.parse("/decoder", "missing (expected a ByteLevel decoder)");
  const std::string type = type_of(root["decoder"]);
  if (type != "ByteLevel")
    return c.unsupported("/decoder/type", "decoder '" + type + "' is not supported (ByteLevel)");
  return ok_status();
}

// Precomputes every id's decoded bytes (HF ByteLevel decoder: chars outside the byte-level
// alphabet make the whole token fall back to its own UTF-8 bytes).
Status finish(const Ctx& c, Tokenizer::Impl& impl) {
  std::int32_t size = impl.model.max_id() + 1;
  size = std::max(size, static_cast<std::int32_t>(impl.added_by_id.size()));
  impl.vocab_size = size;
  impl.id_bytes.assign(static_cast<std::size_t>(size), {});
  impl.id_known.assign(static_cast<std::size_t>(size), false);
  const ByteLevelAlphabet& alphabet = ByteLevelAlphabet::get();
  for (std::int32_t id = 0; id < size; ++id) {
    const AddedToken* a = impl.added_token(id);
    const std::string* text = a != nullptr ? &a->content : impl.model.token(id);
    if (text == nullptr) continue;
    std::string& out = impl.id_bytes[static_cast<std::size_t>(id)];
    if (!alphabet.decode(*text, out)) out = *text;
    impl.id_known[static_cast<std::size_t>(id)] = true;
  }
  for (std::int32_t id : impl.prefix_ids)
    if (id < 0 || id >= size || !impl.id_known[static_cast<std::size_t>(id)])
      return c.parse("/post_processor",
                     "template id " + std::to_string(id) + " is not in the vocabulary");
  for (std::int32_t id : impl.suffix_ids)
    if (id < 0 || id >= size || !impl.id_known[static_cast<std::size_t>(id)])
      return c.parse("/post_processor",
                     "template id " + std::to_string(id) + " is not in the vocabulary");
  return ok_status();
}

Status load_all(const Ctx& c, const json& root, Tokenizer::Impl& impl) {
  if (!root.is_object()) return c.parse("", "expected a JSON object");
  AGENTRT_TRY(load_model(c, root, impl));
  AGENTRT_TRY(load_added(c, root, impl));
  AGENTRT_TRY(load_normalizer(c, root.contains("normalizer") ? root["normalizer"] : json(),
                              "/normalizer", impl));
  AGENTRT_TRY(load_pre_tokenizer(c, root, impl));
  AGENTRT_TRY(load_post_processor(c,
                                  root.contains("post_processor") ? root["post_processor"] : json(),
                                  "/post_processor", impl));
  AGENTRT_TRY(load_decoder(c, root));
  return finish(c, impl);
}

// Bounded: a FIFO or device named tokenizer.json must not block or grow without end.
Result<std::string> read_file(const std::string& path, std::uint64_t max_bytes) {
  return read_file_bounded(path, max_bytes);
}

}  // namespace

Result<Tokenizer> Tokenizer::from_json(std::string_view json_text, const std::string& name) {
  const Ctx c{name};
  auto impl = std::make_shared<Impl>();
  impl->name = name;
  // The loaders of normalizers and post-processors recurse on Sequence nesting.
  AGENTRT_TRY(check_json_depth(json_text, name));
  try {
    const json root = json::parse(json_text);
    AGENTRT_TRY(load_all(c, root, *impl));
  } catch (const json::parse_error& e) {
    return make_error(ErrorCode::parse,
                      name + ": invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const std::exception& e) {
    return make_error(ErrorCode::parse, name + ": " + e.what());
  }
  return Tokenizer(std::move(impl));
}

Status Tokenizer::set_config_json(std::string_view json_text, const std::string& name) {
  AGENTRT_TRY(check_json_depth(json_text, name));
  try {
    const json root = json::parse(json_text);
    if (!root.is_object())
      return make_error(ErrorCode::parse, name + ": /: expected a JSON object");
    auto token_text = [&](const char* key) -> std::string {
      if (!root.contains(key)) return {};
      const json& v = root[key];
      if (v.is_string()) return v.get<std::string>();
      if (v.is_object() && v.contains("content") && v["content"].is_string())
        return v["content"].get<std::string>();
      return {};
    };
    TokenizerConfig cfg{
        token_text("bos_token"), token_text("eos_token"), token_text("pad_token"), {}};
    if (root.contains("chat_template") && root["chat_template"].is_string())
      cfg.chat_template = root["chat_template"].get<std::string>();
    impl_->config = std::move(cfg);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::parse, name + ": " + e.what());
  }
  return ok_status();
}

Result<Tokenizer> Tokenizer::load(const std::string& tokenizer_json_path) {
  auto text = read_file(tokenizer_json_path, kMaxTokenizerFileBytes);
  if (!text.ok()) return text.error();
  return from_json(*text, tokenizer_json_path);
}

Result<Tokenizer> Tokenizer::load_dir(const std::string& dir) {
  auto tok = load(dir + "/tokenizer.json");
  if (!tok.ok()) return tok.error();
  const std::string config_path = dir + "/tokenizer_config.json";
  auto text = read_file(config_path, kMaxConfigFileBytes);
  if (!text.ok()) return text.error();
  AGENTRT_TRY(tok->set_config_json(*text, config_path));
  return tok;
}

}  // namespace agentrt::tokenizer
