// Loading a Tokenizer from tokenizer.json (+ tokenizer_config.json). Every failure names the
// file and the JSON pointer of the offending value; nlohmann exceptions stay inside.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "engine/common/file_read.h"
#include "engine/common/json_depth.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_impl.h"
#include "engine/tokenizer/tokenizer_load_steps.h"

namespace agentrt::tokenizer {
namespace {

using json_load::Ctx;
using json_load::get_bool;
using json_load::get_string;
using json_load::json;
using json_load::load_decoder;
using json_load::load_normalizer;
using json_load::load_pre_tokenizer;
using json_load::pointer_key;
using json_load::type_of;

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
  if (model.contains("dropout") && model["dropout"].is_number() &&
      model["dropout"].get<double>() > 0)
    return c.unsupported("/model/dropout", "BPE dropout is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
      return c.unsupported(std::string("/model/") + key, "a non-empty affix is not supported");
  AGENTRT_TRY(load_vocab(c, model, impl.model));
  AGENTRT_TRY(load_merges(c, model, impl.model));
  BpeModel::Options options;
  options.ignore_merges = get_bool(model, "ignore_merges", false);
  options.byte_fallback = get_bool(model, "byte_fallback", false);
  options.fuse_unk = get_bool(model, "fuse_unk", false);
  if (model.contains("unk_token") && !model["unk_token"].is_null()) {
    auto unk = get_string(c, model, "unk_token", "/model");
    if (!unk.ok()) return unk.error();
    options.unk_id = impl.model.find(*unk);
    if (options.unk_id < 0)
      return c.parse("/model/unk_token", "unk_token '" + *unk + "' is not in the vocabulary");
  }
  impl.model.set_options(options);
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

// Precomputes every id's decoded bytes (HF ByteLevel decoder: chars outside the byte-level
// alphabet make the whole token fall back to its own UTF-8 bytes; PieceDecoder: the text
// after Replace, or the one byte of a ByteFallback token).
Status finish(const Ctx& c, Tokenizer::Impl& impl) {
  std::int32_t size = impl.model.max_id() + 1;
  size = std::max(size, static_cast<std::int32_t>(impl.added_by_id.size()));
  impl.vocab_size = size;
  impl.id_bytes.assign(static_cast<std::size_t>(size), {});
  impl.id_known.assign(static_cast<std::size_t>(size), false);
  if (impl.pieces) impl.id_byte.assign(static_cast<std::size_t>(size), -1);
  const ByteLevelAlphabet& alphabet = ByteLevelAlphabet::get();
  for (std::int32_t id = 0; id < size; ++id) {
    const AddedToken* a = impl.added_token(id);
    const std::string* text = a != nullptr ? &a->content : impl.model.token(id);
    if (text == nullptr) continue;
    const auto i = static_cast<std::size_t>(id);
    std::string& out = impl.id_bytes[i];
    impl.id_known[i] = true;
    if (!impl.pieces) {
      if (!alphabet.decode(*text, out)) out = *text;
      continue;
    }
    out = impl.piece_decoder.token_text(*text);
    const int byte = impl.piece_decoder.byte_of(out);
    if (byte < 0) continue;
    impl.id_byte[i] = static_cast<std::int16_t>(byte);
    out.assign(1, static_cast<char>(byte));
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
  AGENTRT_TRY(load_decoder(c, root, impl));
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
