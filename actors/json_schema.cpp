// JSON-schema subset validation (see json_schema.h).
#include "actors/json_schema.h"

#include <algorithm>

namespace agentrt::actors {
namespace {

using chat::Json;

Error fail(const std::string& where, const std::string& what) {
  return make_error(ErrorCode::invalid_argument, (where.empty() ? "/" : where) + ": " + what);
}

const char* type_of(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

bool is_type(const Json& v, const std::string& t) {
  const std::string actual = type_of(v);
  if (t == "number") return actual == "number" || actual == "integer";
  if (t == "integer" && actual == "number") {
    const double d = v.get<double>();
    return d == static_cast<double>(static_cast<long long>(d));
  }
  return actual == t;
}

Status check_type(const Json& schema, const Json& v, const std::string& at) {
  auto it = schema.find("type");
  if (it == schema.end()) return ok_status();
  std::string names;
  if (it->is_string()) {
    if (is_type(v, it->get<std::string>())) return ok_status();
    names = it->get<std::string>();
  } else {
    for (const auto& t : *it) {
      if (is_type(v, t.get<std::string>())) return ok_status();
      names += (names.empty() ? "" : " or ") + t.get<std::string>();
    }
  }
  return fail(at, std::string("expected ") + names + ", got " + type_of(v));
}

Status check_bounds(const Json& schema, const Json& v, const std::string& at) {
  if (v.is_number()) {
    const double d = v.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && d < m->get<double>())
      return fail(at, "must be >= " + m->dump() + ", got " + v.dump());
    if (auto m = schema.find("maximum"); m != schema.end() && d > m->get<double>())
      return fail(at, "must be <= " + m->dump() + ", got " + v.dump());
  }
  auto size_bound = [&](const char* lo, const char* hi, std::size_t n, const char* what) {
    if (auto m = schema.find(lo); m != schema.end() && n < m->get<std::size_t>())
      return Status(fail(at, std::string("needs at least ") + m->dump() + " " + what));
    if (auto m = schema.find(hi); m != schema.end() && n > m->get<std::size_t>())
      return Status(fail(at, std::string("allows at most ") + m->dump() + " " + what));
    return ok_status();
  };
  if (v.is_string())
    AGENTRT_TRY(
        size_bound("minLength", "maxLength", v.get_ref<const std::string&>().size(), "characters"));
  if (v.is_array()) AGENTRT_TRY(size_bound("minItems", "maxItems", v.size(), "items"));
  return ok_status();
}

Status validate_at(const Json& schema, const Json& v, const std::string& at);

Status check_object(const Json& schema, const Json& v, const std::string& at) {
  const Json empty = Json::object();
  auto pit = schema.find("properties");
  const Json& props = pit != schema.end() ? *pit : empty;
  if (auto req = schema.find("required"); req != schema.end()) {
    for (const auto& name : *req) {
      if (!v.contains(name.get<std::string>()))
        return fail(at, "missing required property '" + name.get<std::string>() + "'");
    }
  }
  auto extra = schema.find("additionalProperties");
  for (const auto& [key, val] : v.items()) {
    const std::string here = at + "/" + key;
    if (auto p = props.find(key); p != props.end()) {
      AGENTRT_TRY(validate_at(*p, val, here));
    } else if (extra != schema.end()) {
      if (extra->is_boolean() && !extra->get<bool>())
        return fail(at, "unexpected property '" + key + "'");
      if (extra->is_object()) AGENTRT_TRY(validate_at(*extra, val, here));
    }
  }
  return ok_status();
}

Status validate_at(const Json& schema, const Json& v, const std::string& at) {
  if (schema.is_boolean()) {
    return schema.get<bool>() ? ok_status() : Status(fail(at, "no value is allowed here"));
  }
  AGENTRT_TRY(check_type(schema, v, at));
  if (auto e = schema.find("enum"); e != schema.end()) {
    if (std::find(e->begin(), e->end(), v) == e->end())
      return fail(at, "must be one of " + e->dump() + ", got " + v.dump());
  }
  AGENTRT_TRY(check_bounds(schema, v, at));
  if (v.is_object()) AGENTRT_TRY(check_object(schema, v, at));
  if (v.is_array()) {
    if (auto items = schema.find("items"); items != schema.end()) {
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (items->is_array() && i >= items->size()) break;  // tuple form: the rest is free
        const Json& sub = items->is_array() ? (*items)[i] : *items;
        AGENTRT_TRY(validate_at(sub, v[i], at + "/" + std::to_string(i)));
      }
    }
  }
  return ok_status();
}

bool known_type(const Json& t) {
  static const char* names[] = {"string", "number", "integer", "boolean",
                                "object", "array",  "null"};
  if (!t.is_string()) return false;
  return std::any_of(std::begin(names), std::end(names),
                     [&](const char* n) { return t.get<std::string>() == n; });
}

Status check_at(const Json& s, const std::string& at) {
  if (s.is_boolean()) return ok_status();
  if (!s.is_object()) return fail(at, "a schema must be an object or a boolean");
  if (auto t = s.find("type"); t != s.end()) {
    const bool ok = t->is_array() ? std::all_of(t->begin(), t->end(), known_type) : known_type(*t);
    if (!ok) return fail(at + "/type", "unknown type " + t->dump());
  }
  if (auto p = s.find("properties"); p != s.end()) {
    if (!p->is_object()) return fail(at + "/properties", "must be an object");
    for (const auto& [k, sub] : p->items())
      AGENTRT_TRY(check_at(sub, at + "/properties/" + k));
  }
  if (auto r = s.find("required"); r != s.end()) {
    if (!r->is_array() ||
        !std::all_of(r->begin(), r->end(), [](const Json& x) { return x.is_string(); }))
      return fail(at + "/required", "must be an array of strings");
  }
  if (auto e = s.find("enum"); e != s.end() && !e->is_array())
    return fail(at + "/enum", "must be an array");
  if (auto i = s.find("items"); i != s.end()) {
    if (i->is_array()) {  // draft-07 tuple form
      for (std::size_t k = 0; k < i->size(); ++k)
        AGENTRT_TRY(check_at((*i)[k], at + "/items/" + std::to_string(k)));
    } else {
      AGENTRT_TRY(check_at(*i, at + "/items"));
    }
  }
  if (auto a = s.find("additionalProperties"); a != s.end())
    AGENTRT_TRY(check_at(*a, at + "/additionalProperties"));
  for (const char* k : {"minimum", "maximum"}) {
    if (auto m = s.find(k); m != s.end() && !m->is_number())
      return fail(at + "/" + k, "must be a number");
  }
  for (const char* k : {"minLength", "maxLength", "minItems", "maxItems"}) {
    if (auto m = s.find(k); m != s.end() && !(m->is_number_unsigned() ||
                                              (m->is_number_integer() && m->get<long long>() >= 0)))
      return fail(at + "/" + k, "must be a non-negative integer");
  }
  return ok_status();
}

}  // namespace

Status check_schema(const Json& schema) {
  return check_at(schema, "");
}

Status validate_json(const Json& schema, const Json& value) {
  try {
    return validate_at(schema, value, "");
  } catch (const std::exception& e) {  // a schema that skipped check_schema
    return make_error(ErrorCode::invalid_argument, std::string("schema: ") + e.what());
  }
}

}  // namespace agentrt::actors
