// Internal to the tokenizer.json loader: error context, JSON helpers, and the loaders of the
// normalizer, pre-tokenizer and decoder sections (tokenizer_load_steps.cpp).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engine/common/json_pointer.h"
#include "engine/common/result.h"
#include "engine/tokenizer/tokenizer_impl.h"

namespace agentrt::tokenizer::json_load {

using nlohmann::json;

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
inline std::string pointer_key(const std::string& key) {
  return json_pointer_token(key);
}

inline std::string type_of(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>()
                                                                      : "";
}

inline Result<std::string> get_string(const Ctx& c, const json& j, const std::string& key,
                                      const std::string& ptr) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string())
    return c.parse(ptr + "/" + key, "expected a string");
  return j[key].get<std::string>();
}

inline bool get_bool(const json& j, const char* key, bool fallback) {
  return j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : fallback;
}

// Each reads its section of root (absent or null: none) into impl; errors name the pointer.
Status load_normalizer(const Ctx& c, const json& n, const std::string& ptr, Tokenizer::Impl& impl);
Status load_pre_tokenizer(const Ctx& c, const json& root, Tokenizer::Impl& impl);
Status load_decoder(const Ctx& c, const json& root, Tokenizer::Impl& impl);

}  // namespace agentrt::tokenizer::json_load
