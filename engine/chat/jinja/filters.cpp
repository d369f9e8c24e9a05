// Filters (`x | name` and `x | name(args)`), as the reference's applyFilter defines them:
// which filters exist depends on the operand's type.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "engine/chat/jinja/interpreter.h"

namespace agentrt::chat::jinja {
namespace {
using K = Value::Kind;
}  // namespace

// JavaScript parseInt(s, 10) / parseFloat(s); nullopt for NaN.
std::optional<double> parse_number(const std::string& s, bool integer) {
  const std::string t = js_trim(s, true, false);
  const char* begin = t.c_str();
  char* end = nullptr;
  const double d =
      integer ? static_cast<double>(std::strtoll(begin, &end, 10)) : std::strtod(begin, &end);
  if (end == begin) return std::nullopt;
  return d;
}

// A dotted attribute path ("a.b", "items.0") into objects and arrays.
Value attribute(const Value& item, const std::string& path) {
  Value v = item;
  std::size_t p = 0;
  while (true) {
    const std::size_t q = path.find('.', p);
    const std::string part = path.substr(p, q == std::string::npos ? std::string::npos : q - p);
    if (v.is(K::object)) {
      const Value* x = v.find(part);
      v = x ? *x : Value::undefined();
    } else if (v.is(K::array)) {
      char* end = nullptr;
      const long long k = std::strtoll(part.c_str(), &end, 10);
      if (end == part.c_str() || k < 0 || static_cast<std::size_t>(k) >= v.arr->size())
        return Value::undefined();
      v = (*v.arr)[static_cast<std::size_t>(k)];
    } else {
      return Value::undefined();
    }
    if (q == std::string::npos) return v;
    p = q + 1;
  }
}

std::string join_item(const Value& v, const Limits& limits) {
  return v.is(K::undefined) || v.is(K::none) ? std::string() : to_js_string(v, limits);
}

std::string indent_text(const std::string& s, const std::string& pad, bool first, bool blank) {
  std::string out;
  std::size_t p = 0;
  bool first_line = true;
  while (true) {
    const std::size_t q = s.find('\n', p);
    const std::string line = s.substr(p, q == std::string::npos ? std::string::npos : q - p);
    if (!first_line) out += "\n";
    if (!((!first && first_line) || (!blank && line.empty()))) out += pad;
    out += line;
    first_line = false;
    if (q == std::string::npos) return out;
    p = q + 1;
  }
}

Value Interpreter::filter(const Value& operand, const Node& f, const EnvPtr& env) {
  if (f.kind == NodeKind::call) return filter_call(operand, f, env);
  const std::string& name = f.str;
  if (name == "safe") return operand;
  if (name == "tojson") return Value::string(to_json(operand, {}, true, limits_));
  if (operand.is(K::array)) {
    const Array& a = *operand.arr;
    if (name == "list") return operand;
    if (name == "first") return a.empty() ? Value::undefined() : a.front();
    if (name == "last") return a.empty() ? Value::undefined() : a.back();
    if (name == "length") return Value::integer(static_cast<std::int64_t>(a.size()));
    if (name == "reverse") return Value::array(Array(a.rbegin(), a.rend()));
    if (name == "sort") {
      Array out = a;
      std::stable_sort(out.begin(), out.end(), [](const Value& x, const Value& y) {
        return compare_values(x, y, false) < 0;
      });
      return Value::array(std::move(out));
    }
    if (name == "join") {
      std::string out;
      for (const Value& x : a) {
        out += join_item(x, limits_);
        check_size(out.size());
      }
      return Value::string(std::move(out));
    }
    if (name == "string") return Value::string(to_json(operand, {}, false, limits_));
    if (name == "unique") {
      Array out;
      for (const Value& x : a) {
        bool seen = false;
        for (const Value& y : out)
          if (strict_equals(x, y) && !x.is(K::array) && !x.is(K::object)) seen = true;
        for (const Value& y : out)
          if ((x.is(K::array) || x.is(K::object)) && strict_equals(x, y)) seen = true;
        if (!seen) out.push_back(x);
      }
      return Value::array(std::move(out));
    }
    fail("Unknown ArrayValue filter: " + name);
  }
  if (operand.is(K::string)) {
    const std::string& s = operand.s;
    if (name == "length") return Value::integer(js_length(s));
    if (name == "upper") return Value::string(ascii_upper(s));
    if (name == "lower") return Value::string(ascii_lower(s));
    if (name == "title" || name == "capitalize") {
      std::vector<Value> none;
      return (*builtin_member(operand, name, limits_).fn)(none, env);
    }
    if (name == "trim") return Value::string(js_trim(s, true, true));
    if (name == "indent") return Value::string(indent_text(s, "    ", false, false));
    if (name == "join" || name == "string") return operand;
    if (name == "int") {
      const auto d = parse_number(s, true);
      if (!d) return Value::integer(0);
      const auto i = checked_int64(*d);
      if (!i) fail("integer overflow");
      return Value::integer(*i);
    }
    if (name == "float") {
      const auto d = parse_number(s, false);
      return Value::floating(d ? *d : 0.0);
    }
    fail("Unknown StringValue filter: " + name);
  }
  if (operand.is_number()) {
    const bool is_int = operand.is(K::integer);
    if (name == "abs") {
      if (is_int) {
        if (operand.i == INT64_MIN) fail("integer overflow");
        return Value::integer(std::llabs(operand.i));
      }
      return Value::floating(std::fabs(operand.d));
    }
    if (name == "int") {
      if (is_int) return operand;
      const auto i = checked_int64(std::floor(operand.d));
      if (!i) fail("integer overflow");
      return Value::integer(*i);
    }
    if (name == "float")
      return Value::floating(is_int ? static_cast<double>(operand.i) : operand.d);
    if (name == "string") return Value::string(to_display(operand, limits_));
    fail("Unknown NumericValue filter: " + name);
  }
  if (operand.is_mapping()) {
    if (name == "items" || name == "length") {
      if (name == "length") return Value::integer(static_cast<std::int64_t>(operand.obj->size()));
    }
    const Value b = builtin_member(operand, name, limits_);
    if (b.is(K::function)) {
      std::vector<Value> none;
      return (*b.fn)(none, env);
    }
    fail("Unknown ObjectValue filter: " + name);
  }
  if (operand.is(K::boolean)) {
    if (name == "bool") return operand;
    if (name == "int") return Value::integer(operand.b ? 1 : 0);
    if (name == "float") return Value::floating(operand.b ? 1.0 : 0.0);
    if (name == "string") return Value::string(operand.b ? "true" : "false");
    fail("Unknown BooleanValue filter: " + name);
  }
  fail("Cannot apply filter \"" + name + "\" to type: " + operand.type_name());
}

}  // namespace agentrt::chat::jinja
