#include "engine/chat/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace agentrt::chat::jinja {

void fail(std::string message) {
  throw Failure{std::move(message)};
}

Value Value::none() {
  Value v;
  v.kind = Kind::none;
  return v;
}
Value Value::boolean(bool x) {
  Value v;
  v.kind = Kind::boolean;
  v.b = x;
  return v;
}
Value Value::integer(std::int64_t x) {
  Value v;
  v.kind = Kind::integer;
  v.i = x;
  return v;
}
Value Value::floating(double x) {
  Value v;
  v.kind = Kind::floating;
  v.d = x;
  return v;
}
Value Value::string(std::string x) {
  Value v;
  v.kind = Kind::string;
  v.s = std::move(x);
  return v;
}
Value Value::array(Array x) {
  Value v;
  v.kind = Kind::array;
  v.arr = std::make_shared<Array>(std::move(x));
  return v;
}
Value Value::object(Object x) {
  Value v;
  v.kind = Kind::object;
  v.obj = std::make_shared<Object>(std::move(x));
  return v;
}
Value Value::function(Function f) {
  Value v;
  v.kind = Kind::function;
  v.fn = std::make_shared<Function>(std::move(f));
  return v;
}

const char* Value::type_name() const {
  switch (kind) {
    case Kind::undefined:
      return "UndefinedValue";
    case Kind::none:
      return "NullValue";
    case Kind::boolean:
      return "BooleanValue";
    case Kind::integer:
      return "IntegerValue";
    case Kind::floating:
      return "FloatValue";
    case Kind::string:
      return "StringValue";
    case Kind::array:
      return is_tuple ? "TupleValue" : "ArrayValue";
    case Kind::object:
      return is_namespace ? "NamespaceValue" : is_kwargs ? "KeywordArgumentsValue" : "ObjectValue";
    case Kind::function:
      return "FunctionValue";
  }
  return "?";
}

bool Value::truthy() const {
  switch (kind) {
    case Kind::undefined:
    case Kind::none:
      return false;
    case Kind::boolean:
      return b;
    case Kind::integer:
      return i != 0;
    case Kind::floating:
      return d != 0 && !std::isnan(d);
    case Kind::string:
      return !s.empty();
    case Kind::array:
      return !arr->empty();
    case Kind::object:
      return is_namespace || !obj->empty();  // a namespace is a JS Map: always truthy
    case Kind::function:
      return true;
  }
  return false;
}

const Value* Value::find(const std::string& key) const {
  if (kind != Kind::object) return nullptr;
  for (const auto& [k, v] : *obj)
    if (k == key) return &v;
  return nullptr;
}

void Value::set(const std::string& key, Value v) {
  for (auto& [k, old] : *obj)
    if (k == key) {
      old = std::move(v);
      return;
    }
  obj->emplace_back(key, std::move(v));
}

std::optional<std::int64_t> checked_int64(double d) {
  // 2^63 is exact as a double; every double in (-2^63, 2^63) truncates into range.
  constexpr double kLimit = 9223372036854775808.0;
  if (!std::isfinite(d) || d >= kLimit || d <= -kLimit) return std::nullopt;
  return static_cast<std::int64_t>(d);
}

std::string js_number(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return "0";
  // Shortest round-trip digits, then JavaScript's layout (Number::toString, ECMA-262 6.1.6.1.20).
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), std::fabs(d), std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const std::size_t e_pos = sci.find('e');
  std::string digits = sci.substr(0, e_pos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exp = std::stoi(sci.substr(e_pos + 1));
  const int k = static_cast<int>(digits.size());
  const int n = exp + 1;
  std::string out = d < 0 ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<std::size_t>(n)) + "." +
           digits.substr(static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<std::size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += n - 1 >= 0 ? "e+" : "e-";
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

namespace {

void check_size(std::size_t size, const Limits& limits) {
  if (size > limits.max_output_bytes)
    fail("text longer than " + std::to_string(limits.max_output_bytes) + " bytes");
}

// JSON.stringify of a string: escapes '"', '\\' and control characters; lone bytes pass.
void json_string(const std::string& s, bool ensure_ascii, std::string& out) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    char buf[16];
    if (c < 0x20) {
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else if (ensure_ascii && c >= 0x7F) {
      // Decode one UTF-8 code point; escape it as UTF-16 units (\uXXXX, lower-case hex).
      std::uint32_t cp = c;
      std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      if (i + n > s.size()) n = 1;
      if (n > 1) {
        cp = c & (0x7F >> n);
        for (std::size_t k = 1; k < n; ++k)
          cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      }
      i += n - 1;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xD800 + (cp >> 10),
                      0xDC00 + (cp & 0x3FF));
      } else {
        std::snprintf(buf, sizeof(buf), "\\u%04x", cp);
      }
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

void write_json(const Value& v, const JsonOptions& o, bool undef_null, const Limits& limits,
                int depth, std::string& out) {
  if (depth > limits.max_depth)
    fail("value nested deeper than " + std::to_string(limits.max_depth) + " levels");
  check_size(out.size(), limits);
  const std::string item_sep = o.has_separators ? o.item_sep : o.indent > 0 ? "," : ", ";
  const std::string key_sep = o.has_separators ? o.key_sep : ": ";
  const std::string pad = o.indent > 0 ? std::string(static_cast<std::size_t>(o.indent), ' ') : "";
  auto newline = [&](int level) {
    out.push_back('\n');
    for (int k = 0; k < level; ++k)
      out += pad;
  };
  switch (v.kind) {
    case Value::Kind::none:
      out += "null";
      return;
    case Value::Kind::undefined:
      out += undef_null ? "null" : "undefined";
      return;
    case Value::Kind::boolean:
      out += v.b ? "true" : "false";
      return;
    case Value::Kind::integer:
      out += std::to_string(v.i);
      return;
    case Value::Kind::floating:
      out += std::isfinite(v.d) ? js_number(v.d) : "null";
      return;
    case Value::Kind::string:
      json_string(v.s, o.ensure_ascii, out);
      return;
    case Value::Kind::array: {
      out.push_back('[');
      bool first = true;
      for (const Value& x : *v.arr) {
        if (!first) out += item_sep;
        first = false;
        if (o.indent > 0) newline(depth + 1);
        write_json(x, o, undef_null, limits, depth + 1, out);
      }
      if (o.indent > 0 && !v.arr->empty()) newline(depth);
      out.push_back(']');
      return;
    }
    case Value::Kind::object: {
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& e : *v.obj)
        entries.push_back(&e);
      if (o.sort_keys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](auto* a, auto* b) { return a->first < b->first; });
      out.push_back('{');
      bool first = true;
      for (const auto* e : entries) {
        if (!first) out += item_sep;
        first = false;
        if (o.indent > 0) newline(depth + 1);
        json_string(e->first, o.ensure_ascii, out);
        out += key_sep;
        write_json(e->second, o, undef_null, limits, depth + 1, out);
      }
      if (o.indent > 0 && !v.obj->empty()) newline(depth);
      out.push_back('}');
      return;
    }
    case Value::Kind::function:
      fail("Cannot convert to JSON: FunctionValue");
  }
}

}  // namespace

std::string to_json(const Value& v, const JsonOptions& options, bool undefined_as_null,
                    const Limits& limits) {
  std::string out;
  write_json(v, options, undefined_as_null, limits, 0, out);
  check_size(out.size(), limits);
  return out;
}

std::string to_display(const Value& v, const Limits& limits) {
  switch (v.kind) {
    case Value::Kind::floating:
      if (v.d == 0 && std::signbit(v.d)) return "-0.0";
      if (std::isfinite(v.d) && std::fmod(v.d, 1.0) == 0) {
        if (std::fabs(v.d) >= 1e21) return js_number(v.d);
        char buf[400];
        std::snprintf(buf, sizeof(buf), "%.1f", v.d);
        return buf;
      }
      return js_number(v.d);
    case Value::Kind::array:
    case Value::Kind::object:
      return to_json(v, {}, false, limits);
    case Value::Kind::function:
      return "[function]";
    default:
      return to_js_string(v, limits);
  }
}

std::string to_js_string(const Value& v, const Limits& limits) {
  switch (v.kind) {
    case Value::Kind::undefined:
      return "undefined";
    case Value::Kind::none:
      return "null";
    case Value::Kind::boolean:
      return v.b ? "true" : "false";
    case Value::Kind::integer:
      return std::to_string(v.i);
    case Value::Kind::floating:
      return js_number(v.d);
    case Value::Kind::string:
      return v.s;
    case Value::Kind::array: {
      // Array.prototype.toString: the elements' toString() joined by ",".
      std::string out;
      for (std::size_t k = 0; k < v.arr->size(); ++k) {
        if (k > 0) out += ",";
        const Value& x = (*v.arr)[k];
        if (!x.is(Value::Kind::undefined) && !x.is(Value::Kind::none)) out += to_display(x, limits);
        check_size(out.size(), limits);
      }
      return out;
    }
    case Value::Kind::object:
      return "[object Map]";
    case Value::Kind::function:
      return "[function]";
  }
  return "";
}

namespace {
Value from_json_at(const nlohmann::ordered_json& j, int depth) {
  if (depth > 256) fail("input value nested deeper than 256 levels");
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value::none();
    case nlohmann::ordered_json::value_t::boolean:
      return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value::integer(j.get<std::int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned:
      return Value::integer(static_cast<std::int64_t>(j.get<std::uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: {
      const double d = j.get<double>();
      // JSON.parse gives one number type; Number.isInteger makes 1.0 an integer.
      if (std::isfinite(d) && std::fmod(d, 1.0) == 0 && std::fabs(d) < 9.2e18 &&
          !(d == 0 && std::signbit(d)))
        return Value::integer(static_cast<std::int64_t>(d));
      if (d == 0) return Value::integer(0);  // -0 is an integer for Number.isInteger
      return Value::floating(d);
    }
    case nlohmann::ordered_json::value_t::string:
      return Value::string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Array a;
      a.reserve(j.size());
      for (const auto& x : j)
        a.push_back(from_json_at(x, depth + 1));
      return Value::array(std::move(a));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value o = Value::object();
      for (auto it = j.begin(); it != j.end(); ++it)
        o.set(it.key(), from_json_at(it.value(), depth + 1));
      return o;
    }
    default:
      return Value::none();
  }
}
}  // namespace

Value from_json(const nlohmann::ordered_json& j) {
  return from_json_at(j, 0);
}

}  // namespace agentrt::chat::jinja
