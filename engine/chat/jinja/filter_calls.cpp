// Filters called with arguments (`x | name(...)`), as the reference's applyFilter defines
// them: tojson, join, int, float and default for any operand; sort, selectattr, rejectattr
// and map on arrays; indent and replace on strings; dict methods on objects.
#include <algorithm>

#include "engine/chat/jinja/interpreter.h"

namespace agentrt::chat::jinja {
namespace {

using K = Value::Kind;

// Evaluated filter arguments: positional, then keywords.
struct Args {
  std::vector<Value> pos;
  Object kw;
  const Value* get(const std::string& key) const {
    for (const auto& [k, v] : kw)
      if (k == key) return &v;
    return nullptr;
  }
  // The k-th positional argument, else the keyword, else def.
  Value at(std::size_t k, const std::string& key, Value def) const {
    if (k < pos.size()) return pos[k];
    if (const Value* v = get(key)) return *v;
    return def;
  }
};

Value tojson_filter(const Value& operand, const Args& a, const Limits& limits) {
  JsonOptions o;
  const Value* indent = a.get("indent");
  if (indent && !indent->is(K::integer) && !indent->is(K::none))
    fail("If set, indent must be a number");
  if (indent && indent->is(K::integer))
    o.indent = static_cast<int>(std::clamp<std::int64_t>(indent->i, 0, 64));
  const Value* ascii = a.get("ensure_ascii");
  if (ascii && !ascii->is(K::boolean)) fail("If set, ensure_ascii must be a boolean");
  o.ensure_ascii = ascii && ascii->b;
  const Value* sort = a.get("sort_keys");
  if (sort && !sort->is(K::boolean)) fail("If set, sort_keys must be a boolean");
  o.sort_keys = sort && sort->b;
  const Value* seps = a.get("separators");
  if (seps && seps->is(K::array)) {
    if (seps->arr->size() != 2 || !(*seps->arr)[0].is(K::string) || !(*seps->arr)[1].is(K::string))
      fail("separators must be a tuple of two strings");
    o.has_separators = true;
    o.item_sep = (*seps->arr)[0].s;
    o.key_sep = (*seps->arr)[1].s;
  } else if (seps && !seps->is(K::none)) {
    fail("If set, separators must be a tuple of two strings");
  }
  return Value::string(to_json(operand, o, true, limits));
}

Value join_filter(const Value& operand, const Args& a, const Interpreter& interp) {
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
      items.push_back(join_item(x, interp.limits()));
  } else {
    fail("Cannot apply filter \"join\" to type: " + std::string(operand.type_name()));
  }
  const Value sep = a.at(0, "separator", Value::string(""));
  if (!sep.is(K::string)) fail("separator must be a string");
  std::string out;
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (k > 0) out += sep.s;
    out += items[k];
    interp.check_size(out.size());
  }
  return Value::string(std::move(out));
}

Value number_filter(bool is_int, const Value& operand, const Args& a) {
  const Value def = a.at(0, "default", is_int ? Value::integer(0) : Value::floating(0.0));
  if (operand.is(K::string)) {
    const auto d = parse_number(operand.s, is_int);
    if (!d) return def;
    if (!is_int) return Value::floating(*d);
    const auto i = checked_int64(*d);
    if (!i) fail("integer overflow");
    return Value::integer(*i);
  }
  if (operand.is_number()) return operand;
  if (operand.is(K::boolean))
    return is_int ? Value::integer(operand.b ? 1 : 0) : Value::floating(operand.b ? 1.0 : 0.0);
  fail(std::string("Cannot apply filter \"") + (is_int ? "int" : "float") +
       "\" to type: " + operand.type_name());
}

Value default_filter(const Value& operand, const Args& a) {
  const Value def = !a.pos.empty() ? a.pos[0] : Value::string("");
  const Value boolean = a.at(1, "boolean", Value::boolean(false));
  if (!boolean.is(K::boolean)) fail("`default` filter flag must be a boolean");
  if (operand.is(K::undefined) || (boolean.b && !operand.truthy())) return def;
  return operand;
}

Value sort_filter(const Value& operand, const Args& a) {
  const Value reverse = a.at(0, "reverse", Value::boolean(false));
  if (!reverse.is(K::boolean)) fail("reverse must be a boolean");
  const Value cs = a.at(1, "case_sensitive", Value::boolean(false));
  if (!cs.is(K::boolean)) fail("case_sensitive must be a boolean");
  const Value attr = a.at(2, "attribute", Value::none());
  if (!attr.is(K::string) && !attr.is(K::integer) && !attr.is(K::none))
    fail("attribute must be a string, integer, or null");
  auto key = [&](const Value& item) {
    if (attr.is(K::none)) return item;
    return attribute(item, attr.is(K::integer) ? std::to_string(attr.i) : attr.s);
  };
  Array out = *operand.arr;
  std::stable_sort(out.begin(), out.end(), [&](const Value& x, const Value& y) {
    const int r = compare_values(key(x), key(y), cs.b);
    return reverse.b ? r > 0 : r < 0;
  });
  return Value::array(std::move(out));
}

Value map_filter(const Value& operand, const Args& a) {
  const Value* attr = a.get("attribute");
  if (attr == nullptr)
    fail("`map` expressions without `attribute` set are not currently supported.");
  if (!attr->is(K::string)) fail("attribute must be a string");
  const Value* def = a.get("default");
  Array out;
  for (const Value& item : *operand.arr) {
    if (!item.is(K::object)) fail("items in map must be an object");
    Value v = attribute(item, attr->s);
    if (v.is(K::undefined) && def != nullptr) v = *def;
    out.push_back(std::move(v));
  }
  return Value::array(std::move(out));
}

// selectattr / rejectattr: string-literal arguments (attribute, test name, test value).
Value select_filter(bool select, const Value& operand, const Node& f) {
  const std::string name = select ? "selectattr" : "rejectattr";
  for (const Value& item : *operand.arr)
    if (!item.is(K::object)) fail("`" + name + "` can only be applied to array of objects");
  for (const NodePtr& x : f.list)
    if (x->kind != NodeKind::string_literal) fail("arguments of `" + name + "` must be strings");
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
  for (const Value& item : *operand.arr) {
    const Value* x = item.find(attr);
    bool r = false;
    if (x != nullptr) r = test.empty() ? x->truthy() : run_test(test, *x, &value, &known);
    if (r == select) out.push_back(item);
  }
  return Value::array(std::move(out));
}

Value indent_filter(const Value& operand, const Args& a, const Interpreter& interp) {
  const Value width = a.at(0, "width", Value::integer(4));
  if (!width.is(K::integer)) fail("width must be a number");
  const Value first = a.at(1, "first", Value::boolean(false));
  const Value blank = a.at(2, "blank", Value::boolean(false));
  const std::int64_t w = std::clamp<std::int64_t>(width.i, 0, 1024);
  std::string out = indent_text(operand.s, std::string(static_cast<std::size_t>(w), ' '),
                                first.truthy(), blank.truthy());
  interp.check_size(out.size());
  return Value::string(std::move(out));
}

Value with_kwargs(std::vector<Value> pos, Object kw, bool always) {
  if (always || !kw.empty()) {
    Value kwv = Value::object(std::move(kw));
    kwv.is_kwargs = true;
    pos.push_back(std::move(kwv));
  }
  return Value::array(std::move(pos));
}

}  // namespace

Value Interpreter::filter_call(const Value& operand, const Node& f, const EnvPtr& env) {
  if (f.a->kind != NodeKind::identifier) fail("Unknown filter");
  const std::string& name = f.a->str;
  if (operand.is(K::array) && (name == "selectattr" || name == "rejectattr"))
    return select_filter(name == "selectattr", operand, f);
  auto [pos, kw] = arguments(f.list, env);
  const Args a{std::move(pos), std::move(kw)};
  if (name == "tojson") return tojson_filter(operand, a, limits_);
  if (name == "join") return join_filter(operand, a, *this);
  if (name == "int" || name == "float") return number_filter(name == "int", operand, a);
  if (name == "default") return default_filter(operand, a);
  if (operand.is(K::array)) {
    if (name == "sort") return sort_filter(operand, a);
    if (name == "map") return map_filter(operand, a);
    fail("Unknown ArrayValue filter: " + name);
  }
  if (operand.is(K::string)) {
    if (name == "indent") return indent_filter(operand, a, *this);
    if (name == "replace") {
      Value args = with_kwargs(a.pos, a.kw, true);
      return (*builtin_member(operand, "replace", limits_).fn)(*args.arr, env);
    }
    fail("Unknown StringValue filter: " + name);
  }
  if (operand.is_mapping()) {
    const Value b = builtin_member(operand, name, limits_);
    if (b.is(K::function)) {
      Value args = with_kwargs(a.pos, a.kw, false);
      return (*b.fn)(*args.arr, env);
    }
    fail("Unknown ObjectValue filter: " + name);
  }
  fail("Cannot apply filter \"" + name + "\" to type: " + operand.type_name());
}

}  // namespace agentrt::chat::jinja
