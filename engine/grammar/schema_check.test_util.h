// An independent validator for the schema subset of schema_compiler.h, for tests: the
// grammar's outputs must satisfy it. Returns "" when `v` is valid, else the first problem.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace agentrt::grammar::testing {

using Json = nlohmann::ordered_json;

inline std::string check_value(const Json& root, const Json& s, const Json& v,
                               const std::string& at) {
  if (s.is_boolean()) return s.get<bool>() ? "" : at + ": false schema";
  if (s.contains("$ref")) {
    const std::string ref = s["$ref"].get<std::string>().substr(1);
    return check_value(root, ref.empty() ? root : root.at(Json::json_pointer(ref)), v, at);
  }
  if (s.contains("const") && v != s["const"]) return at + ": not the const";
  if (s.contains("enum")) {
    bool found = false;
    for (const auto& e : s["enum"])
      found = found || e == v;
    if (!found) return at + ": not in enum";
  }
  for (const char* key : {"anyOf", "oneOf"}) {
    if (!s.contains(key)) continue;
    int matches = 0;
    for (const auto& alt : s[key])
      matches += check_value(root, alt, v, at).empty() ? 1 : 0;
    if (matches == 0 || (std::string(key) == "oneOf" && matches != 1)) {
      return at + ": " + key + " matched " + std::to_string(matches);
    }
  }
  if (s.contains("type")) {
    auto is = [&](const std::string& t) {
      if (t == "object") return v.is_object();
      if (t == "array") return v.is_array();
      if (t == "string") return v.is_string();
      if (t == "integer") return v.is_number_integer();
      if (t == "number") return v.is_number();
      if (t == "boolean") return v.is_boolean();
      if (t == "null") return v.is_null();
      return false;
    };
    bool ok = false;
    if (s["type"].is_string()) {
      ok = is(s["type"].get<std::string>());
    } else {
      for (const auto& t : s["type"])
        ok = ok || is(t.get<std::string>());
    }
    if (!ok) return at + ": wrong type " + v.type_name();
  }
  if (v.is_object()) {
    const Json props = s.value("properties", Json::object());
    for (const auto& r : s.value("required", Json::array())) {
      if (!v.contains(r.get<std::string>())) return at + ": missing " + r.get<std::string>();
    }
    for (const auto& [k, x] : v.items()) {
      std::string e;
      if (props.contains(k)) {
        e = check_value(root, props[k], x, at + "/" + k);
      } else if (s.contains("additionalProperties")) {
        e = check_value(root, s["additionalProperties"], x, at + "/" + k);
      }
      if (!e.empty()) return e;
    }
  }
  if (v.is_array()) {
    if (s.contains("minItems") && v.size() < s["minItems"].get<std::size_t>()) {
      return at + ": too few items";
    }
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<std::size_t>()) {
      return at + ": too many items";
    }
    if (s.contains("items")) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        auto e = check_value(root, s["items"], v[i], at + "/" + std::to_string(i));
        if (!e.empty()) return e;
      }
    }
  }
  return "";
}

inline std::string check(const Json& schema, const Json& v) {
  return check_value(schema, schema, v, "");
}

}  // namespace agentrt::grammar::testing
