// Loaders of tokenizer.json's normalizer, pre_tokenizer and decoder sections. Anything this
// tokenizer cannot reproduce exactly is refused with the JSON pointer of the offending value.
#include "engine/tokenizer/tokenizer_load_steps.h"

#include "engine/tokenizer/utf8.h"

namespace agentrt::tokenizer::json_load {
namespace {

constexpr const char* kGpt2Regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// The literal of a {"String": s} pattern; Regex patterns are refused (ptr names the pattern).
Result<std::string> string_pattern(const Ctx& c, const json& j, const std::string& ptr) {
  if (!j.contains("pattern") || !j["pattern"].is_object())
    return c.parse(ptr + "/pattern", "expected {\"String\": ...}");
  const json& pat = j["pattern"];
  if (pat.contains("Regex"))
    return c.unsupported(ptr + "/pattern/Regex", "a Regex pattern is not supported here");
  auto s = get_string(c, pat, "String", ptr + "/pattern");
  if (!s.ok()) return s.error();
  if (s->empty()) return c.parse(ptr + "/pattern/String", "the pattern is empty");
  return s;
}

// True when s is exactly one UTF-8 character.
bool one_char(const std::string& s) {
  char32_t cp = 0;
  return !s.empty() && utf8::decode(s, 0, &cp) == s.size();
}

Result<SplitBehavior> split_behavior(const Ctx& c, const json& p, const std::string& ptr) {
  const std::string b = p.contains("behavior") && p["behavior"].is_string()
                            ? p["behavior"].get<std::string>()
                            : std::string();
  if (b == "Isolated") return SplitBehavior::isolated;
  if (b == "Removed") return SplitBehavior::removed;
  if (b == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (b == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (b == "Contiguous") return SplitBehavior::contiguous;
  return c.unsupported(ptr + "/behavior", "split behavior '" + b + "' is not supported");
}

Status add_split(const Ctx& c, const std::string& ptr, const std::string& pattern,
                 SplitBehavior behavior, Tokenizer::Impl& impl) {
  auto re = RegexSplitter::compile(pattern);
  if (!re.ok()) return c.parse(ptr + "/pattern", re.error().message);
  PreTokenizerStep step;
  step.regex = std::move(*re);
  step.behavior = behavior;
  impl.steps.push_back(std::move(step));
  return ok_status();
}

Status load_metaspace(const Ctx& c, const json& p, const std::string& ptr, bool first,
                      Tokenizer::Impl& impl) {
  if (!first)
    return c.unsupported(ptr + "/type", "Metaspace is supported only as the first pre-tokenizer");
  auto rep = get_string(c, p, "replacement", ptr);
  if (!rep.ok()) return rep.error();
  if (!one_char(*rep)) return c.parse(ptr + "/replacement", "expected one character");
  Metaspace& m = impl.metaspace;
  m.on = true;
  m.replacement = *rep;
  if (p.contains("prepend_scheme")) {
    const std::string scheme =
        p["prepend_scheme"].is_string() ? p["prepend_scheme"].get<std::string>() : "";
    if (scheme == "always") {
      m.prepend = Metaspace::Prepend::always;
    } else if (scheme == "first") {
      m.prepend = Metaspace::Prepend::first;
    } else if (scheme == "never") {
      m.prepend = Metaspace::Prepend::never;
    } else {
      return c.parse(ptr + "/prepend_scheme", "expected \"always\", \"first\" or \"never\"");
    }
  } else {
    // Files from before prepend_scheme carry add_prefix_space.
    m.prepend = get_bool(p, "add_prefix_space", true) ? Metaspace::Prepend::always
                                                      : Metaspace::Prepend::never;
  }
  if (!get_bool(p, "split", true)) return ok_status();
  return add_split(c, ptr, "\\Q" + *rep + "\\E", SplitBehavior::merged_with_next, impl);
}

Status load_pre_step(const Ctx& c, const json& p, const std::string& ptr, bool first,
                     Tokenizer::Impl& impl) {
  const std::string type = type_of(p);
  if (type == "Metaspace") return load_metaspace(c, p, ptr, first, impl);
  if (type == "Split") {
    std::string pattern;
    const json* pat = p.contains("pattern") ? &p["pattern"] : nullptr;
    if (pat && pat->is_object() && pat->contains("Regex") && (*pat)["Regex"].is_string()) {
      pattern = (*pat)["Regex"].get<std::string>();
    } else if (pat && pat->is_object() && pat->contains("String") && (*pat)["String"].is_string()) {
      pattern = "\\Q" + (*pat)["String"].get<std::string>() + "\\E";
    } else {
      return c.parse(ptr + "/pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
    }
    auto behavior = split_behavior(c, p, ptr);
    if (!behavior.ok()) return behavior.error();
    if (get_bool(p, "invert", false))
      return c.unsupported(ptr + "/invert", "invert is not supported");
    return add_split(c, ptr, pattern, *behavior, impl);
  }
  if (type != "ByteLevel")
    return c.unsupported(ptr + "/type", "pre-tokenizer '" + type +
                                            "' is not supported (Split, ByteLevel, Metaspace)");
  PreTokenizerStep step;
  step.kind = PreTokenizerStep::Kind::byte_level;
  step.use_regex = get_bool(p, "use_regex", true);
  impl.byte_level = true;
  if (get_bool(p, "add_prefix_space", false)) {
    if (!first)
      return c.unsupported(ptr + "/add_prefix_space",
                           "add_prefix_space is supported only on the first pre-tokenizer");
    impl.add_prefix_space = true;
  }
  if (step.use_regex) {
    auto re = RegexSplitter::compile(kGpt2Regex);
    if (!re.ok()) return c.parse(ptr + "/pattern", re.error().message);
    step.regex = std::move(*re);
  }
  impl.steps.push_back(std::move(step));
  return ok_status();
}

// One step of a SentencePiece-style decoder chain. phase: 0 before ByteFallback, 1 after it,
// 2 after Fuse, 3 after Strip; steps must come in that order.
Status load_piece_step(const Ctx& c, const json& d, const std::string& ptr, int& phase,
                       Tokenizer::Impl& impl) {
  const std::string type = type_of(d);
  PieceDecoder& pd = impl.piece_decoder;
  if (type == "Replace" && phase == 0) {
    auto pattern = string_pattern(c, d, ptr);
    if (!pattern.ok()) return pattern.error();
    auto content = get_string(c, d, "content", ptr);
    if (!content.ok()) return content.error();
    pd.add_replace(*pattern, *content);
    return ok_status();
  }
  if (type == "ByteFallback" && phase == 0) {
    pd.set_byte_fallback();
    phase = 1;
    return ok_status();
  }
  if (type == "Fuse" && phase <= 1) {
    phase = 2;
    return ok_status();
  }
  if (type == "Strip" && phase == 2) {
    auto content = get_string(c, d, "content", ptr);
    if (!content.ok()) return content.error();
    if (!one_char(*content)) return c.parse(ptr + "/content", "expected one character");
    const auto count = [&](const char* key) -> std::int64_t {
      return d.contains(key) && d[key].is_number_integer() ? d[key].get<std::int64_t>() : -1;
    };
    if (count("start") < 0 || count("start") > 1024)
      return c.parse(ptr + "/start", "expected an integer in [0, 1024]");
    if (count("stop") != 0)
      return c.unsupported(ptr + "/stop", "only stop 0 is supported (no trailing strip)");
    pd.set_strip(*content, static_cast<std::size_t>(count("start")));
    phase = 3;
    return ok_status();
  }
  if (type == "Replace" || type == "ByteFallback" || type == "Fuse" || type == "Strip")
    return c.unsupported(ptr + "/type", "decoder '" + type +
                                            "' is not supported at this position (order: Replace, "
                                            "ByteFallback, Fuse, Strip)");
  return c.unsupported(ptr + "/type",
                       "decoder '" + type +
                           "' is not supported (ByteLevel, or a Sequence of Replace, "
                           "ByteFallback, Fuse, Strip)");
}

}  // namespace

Status load_normalizer(const Ctx& c, const json& n, const std::string& ptr, Tokenizer::Impl& impl) {
  if (n.is_null()) return ok_status();
  const std::string type = type_of(n);
  if (type == "NFC") {
    impl.normalizer.add_nfc();
    return ok_status();
  }
  if (type == "Prepend") {
    auto text = get_string(c, n, "prepend", ptr);
    if (!text.ok()) return text.error();
    impl.normalizer.add_prepend(*text);
    return ok_status();
  }
  if (type == "Replace") {
    auto pattern = string_pattern(c, n, ptr);
    if (!pattern.ok()) return pattern.error();
    auto content = get_string(c, n, "content", ptr);
    if (!content.ok()) return content.error();
    impl.normalizer.add_replace(*pattern, *content);
    return ok_status();
  }
  if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
    for (std::size_t i = 0; i < n["normalizers"].size(); ++i)
      AGENTRT_TRY(
          load_normalizer(c, n["normalizers"][i], ptr + "/normalizers/" + std::to_string(i), impl));
    return ok_status();
  }
  return c.unsupported(ptr + "/type", "normalizer '" + type +
                                          "' is not supported (NFC, Prepend, Replace, Sequence)");
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

Status load_decoder(const Ctx& c, const json& root, Tokenizer::Impl& impl) {
  if (!root.contains("decoder") || root["decoder"].is_null())
    return c.parse("/decoder", "missing (expected a ByteLevel decoder or a Sequence)");
  const json& d = root["decoder"];
  const std::string type = type_of(d);
  if (type == "ByteLevel") return ok_status();
  impl.pieces = true;
  int phase = 0;
  if (type != "Sequence") return load_piece_step(c, d, "/decoder", phase, impl);
  if (!d.contains("decoders") || !d["decoders"].is_array())
    return c.parse("/decoder/decoders", "expected an array");
  for (std::size_t i = 0; i < d["decoders"].size(); ++i)
    AGENTRT_TRY(load_piece_step(c, d["decoders"][i], "/decoder/decoders/" + std::to_string(i),
                                phase, impl));
  return ok_status();
}

}  // namespace agentrt::tokenizer::json_load
