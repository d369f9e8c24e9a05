// Filters (`x | name` and `x | name(args)`), as the reference's applyFilter defines them:
// which filters exist depends on the operand's type.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "engine/chat/jinja/interpreter.h"

namespace agentrt::chat::jinja {
namespace {

using K = Value::Kind;

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

}  // namespace

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
      return Value::integer(d ? static_cast<std::int64_t>(*d) : 0);
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
      const double fl = std::floor(operand.d);
      if (!std::isfinite(fl) || std::fabs(fl) > 9.2e18) fail("integer overflow");
      return Value::integer(static_cast<std::int64_t>(fl));
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

Value Interpreter::filter_call(const Value& operand, const Node& f, const EnvPtr& env) {
  if (f.a->kind != NodeKind::identifier) fail("Unknown filter");
  const std::string& name = f.a->str;
  auto kw = [](const Object& o, const std::string& key) -> const Value* {
    for (const auto& [k, v] : o)
      if (k == key) return &v;
    return nullptr;
  };
  if (name == "tojson") {
    auto evaluated1 = arguments(f.list, env);
    auto& kwargs = evaluated1.second;
    JsonOptions o;
    const Value* indent = kw(kwargs, "indent");
    if (indent && !indent->is(K::integer) && !indent->is(K::none))
      fail("If set, indent must be a number");
    if (indent && indent->is(K::integer))
      o.indent = static_cast<int>(std::clamp<std::int64_t>(indent->i, 0, 64));
    const Value* ascii = kw(kwargs, "ensure_ascii");
    if (ascii && !ascii->is(K::boolean)) fail("If set, ensure_ascii must be a boolean");
    o.ensure_ascii = ascii && ascii->b;
    const Value* sort = kw(kwargs, "sort_keys");
    if (sort && !sort->is(K::boolean)) fail("If set, sort_keys must be a boolean");
    o.sort_keys = sort && sort->b;
    const Value* seps = kw(kwargs, "separators");
    if (seps && seps->is(K::array)) {
      if (seps->arr->size() != 2 || !(*seps->arr)[0].is(K::string) ||
          !(*seps->arr)[1].is(K::string))
        fail("separators must be a tuple of two strings");
      o.has_separators = true;
      o.item_sep = (*seps->arr)[0].s;
      o.key_sep = (*seps->arr)[1].s;
    } else if (seps && !seps->is(K::none)) {
      fail("If set, separators must be a tuple of two strings");
    }
    return Value::string(to_json(operand, o, true, limits_));
  }
  if (name == "join") {
    std::vector<std::string> items;
    if (operand.is(K::string)) {
      for (std::size_t p = 0; p < operand.s.size();) {
        const auto c = static_cast<unsigned char>(operand.s[p]);
        std::size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        len = std::min(len, operand.s.size() - p);
        items.push_back(operand.s.substr(p, len));
        p += len;
      }
    } else if (operand.is(K::array)) {
      for (const Value& x : *operand.arr)
        items.push_back(join_item(x, limits_));
    } else {
      fail("Cannot apply filter \"join\" to type: " + std::string(operand.type_name()));
    }
    auto evaluated2 = arguments(f.list, env);
    auto& args = evaluated2.first;
    auto& kwargs = evaluated2.second;
    Value sep = !args.empty()             ? args[0]
                : kw(kwargs, "separator") ? *kw(kwargs, "separator")
                                          : Value::string("");
    if (!sep.is(K::string)) fail("separator must be a string");
    std::string out;
    for (std::size_t k = 0; k < items.size(); ++k) {
      if (k > 0) out += sep.s;
      out += items[k];
      check_size(out.size());
    }
    return Value::string(std::move(out));
  }
  if (name == "int" || name == "float") {
    auto evaluated3 = arguments(f.list, env);
    auto& args = evaluated3.first;
    auto& kwargs = evaluated3.second;
    const bool is_int = name == "int";
    Value def = !args.empty()           ? args[0]
                : kw(kwargs, "default") ? *kw(kwargs, "default")
                : is_int                ? Value::integer(0)
                                        : Value::floating(0.0);
    if (operand.is(K::string)) {
      const auto d = parse_number(operand.s, is_int);
      if (!d) return def;
      return is_int ? Value::integer(static_cast<std::int64_t>(*d)) : Value::floating(*d);
    }
    if (operand.is_number()) return operand;
    if (operand.is(K::boolean))
      return is_int ? Value::integer(operand.b ? 1 : 0) : Value::floating(operand.b ? 1.0 : 0.0);
    fail("Cannot apply filter \"" + name + "\" to type: " + operand.type_name());
  }
  if (name == "default") {
    auto evaluated4 = arguments(f.list, env);
    auto& args = evaluated4.first;
    auto& kwargs = evaluated4.second;
    const Value def = !args.empty() ? args[0] : Value::string("");
    const Value boolean = args.size() > 1         ? args[1]
                          : kw(kwargs, "boolean") ? *kw(kwargs, "boolean")
                                                  : Value::boolean(false);
    if (!boolean.is(K::boolean)) fail("`default` filter flag must be a boolean");
    if (operand.is(K::undefined) || (boolean.b && !operand.truthy())) return def;
    return operand;
  }
  if (operand.is(K::array)) {
    const Array& a = *operand.arr;
    if (name == "sort") {
      auto evaluated5 = arguments(f.list, env);
      auto& args = evaluated5.first;
      auto& kwargs = evaluated5.second;
      auto arg = [&](std::size_t k, const char* key, Value def) {
        if (k < args.size()) return args[k];
        if (const Value* v = kw(kwargs, key)) return *v;
        return def;
      };
      const Value reverse = arg(0, "reverse", Value::boolean(false));
      if (!reverse.is(K::boolean)) fail("reverse must be a boolean");
      const Value cs = arg(1, "case_sensitive", Value::boolean(false));
      if (!cs.is(K::boolean)) fail("case_sensitive must be a boolean");
      const Value attr = arg(2, "attribute", Value::none());
      if (!attr.is(K::string) && !attr.is(K::integer) && !attr.is(K::none))
        fail("attribute must be a string, integer, or null");
      auto key = [&](const Value& item) {
        if (attr.is(K::none)) return item;
        return attribute(item, attr.is(K::integer) ? std::to_string(attr.i) : attr.s);
      };
      Array out = a;
      std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
        const int r = compare_values(key(x), key(y), cs.b);
        return reverse.b ? r > 0 : r < 0;
      });
      return Value::array(std::move(out));
    }
    if (name == "selectattr" || name == "rejectattr") {
      const bool select = name == "selectattr";
      for (const Value& item : a)
        if (!item.is(K::object)) fail("`" + name + "` can only be applied to array of objects");
      for (const NodePtr& x : f.list)
        if (x->kind != NodeKind::string_literal)
          fail("arguments of `" + name + "` must be strings");
      if (f.list.empty()) fail("`" + name + "` needs an attribute name");
      const std::string attr = f.list[0]->str;
      const std::string test = f.list.size() > 1 ? f.list[1]->str : "";
      const Value value = f.list.size() > 2 ? Value::string(f.list[2]->str) : Value::undefined();
      bool known = true;
      if (!test.empty()) {
        run_test(test, Value::undefined(), &value, &known);
        if (!known) fail("Unknown test: " + test);
      }
      Array out;
      for (const Value& item : a) {
        const Value* x = item.find(attr);
        bool r = false;
        if (x != nullptr) r = test.empty() ? x->truthy() : run_test(test, *x, &value, &known);
        if (r == select) out.push_back(item);
      }
      return Value::array(std::move(out));
    }
    if (name == "map") {
      auto evaluated6 = arguments(f.list, env);
      auto& kwargs = evaluated6.second;
      const Value* attr = kw(kwargs, "attribute");
      if (attr == nullptr)
        fail("`map` expressions without `attribute` set are not currently supported.");
      if (!attr->is(K::string)) fail("attribute must be a string");
      const Value* def = kw(kwargs, "default");
      Array out;
      for (const Value& item : a) {
        if (!item.is(K::object)) fail("items in map must be an object");
        Value v = attribute(item, attr->s);
        if (v.is(K::undefined) && def != nullptr) v = *def;
        out.push_back(std::move(v));
      }
      return Value::array(std::move(out));
    }
    fail("Unknown ArrayValue filter: " + name);
  }
  if (operand.is(K::string)) {
    if (name == "indent") {
      auto evaluated7 = arguments(f.list, env);
      auto& args = evaluated7.first;
      auto& kwargs = evaluated7.second;
      auto arg = [&](std::size_t k, const char* key, Value def) {
        if (k < args.size()) return args[k];
        if (const Value* v = kw(kwargs, key)) return *v;
        return def;
      };
      const Value width = arg(0, "width", Value::integer(4));
      if (!width.is(K::integer)) fail("width must be a number");
      const Value first = arg(1, "first", Value::boolean(false));
      const Value blank = arg(2, "blank", Value::boolean(false));
      const std::int64_t w = std::clamp<std::int64_t>(width.i, 0, 1024);
      std::string out = indent_text(operand.s, std::string(static_cast<std::size_t>(w), ' '),
                                    first.truthy(), blank.truthy());
      check_size(out.size());
      return Value::string(std::move(out));
    }
    if (name == "replace") {
      auto evaluated8 = arguments(f.list, env);
      auto& args = evaluated8.first;
      auto& kwargs = evaluated8.second;
      Value kwv = Value::object(std::move(kwargs));
      kwv.is_kwargs = true;
      args.push_back(std::move(kwv));
      return (*builtin_member(operand, "replace", limits_).fn)(args, env);
    }
    fail("Unknown StringValue filter: " + name);
  }
  if (operand.is_mapping()) {
    const Value b = builtin_member(operand, name, limits_);
    if (b.is(K::function)) {
      auto evaluated9 = arguments(f.list, env);
      auto& args = evaluated9.first;
      auto& kwargs = evaluated9.second;
      if (!kwargs.empty()) {
        Value kwv = Value::object(std::move(kwargs));
        kwv.is_kwargs = true;
        args.push_back(std::move(kwv));
      }
      return (*b.fn)(args, env);
    }
    fail("Unknown ObjectValue filter: " + name);
  }
  fail("Cannot apply filter \"" + name + "\" to type: " + operand.type_name());
}

}  // namespace agentrt::chat::jinja
