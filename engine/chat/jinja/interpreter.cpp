#include "engine/chat/jinja/interpreter.h"

#include <cmath>
#include <optional>

namespace agentrt::chat::jinja {
namespace {

using K = Value::Kind;

// Evaluation recursion (nodes, macro calls) beyond this is an error, not a stack overflow.
constexpr int kMaxEvalDepth = 400;

bool numeric_like(const Value& v) {
  return v.is_number() || v.is(Value::Kind::boolean);
}
double numeric(const Value& v) {
  return v.is(Value::Kind::boolean)   ? (v.b ? 1 : 0)
         : v.is(Value::Kind::integer) ? static_cast<double>(v.i)
                                      : v.d;
}

}  // namespace

Value Env::lookup(const std::string& name) const {
  for (const Env* e = this; e != nullptr; e = e->parent_.get()) {
    auto it = e->vars_.find(name);
    if (it != e->vars_.end()) return it->second;
  }
  return Value::undefined();
}

void Interpreter::check_size(std::size_t size) const {
  if (size > limits_.max_output_bytes)
    fail("output longer than " + std::to_string(limits_.max_output_bytes) + " bytes");
}

void Interpreter::check_items(std::size_t count) const {
  if (count > limits_.max_items)
    fail("more than " + std::to_string(limits_.max_items) + " items in one value");
}

std::string Interpreter::run(const Node& program, const EnvPtr& env) {
  try {
    return block(program.body, env);
  } catch (const BreakSignal&) {
    fail("break outside a loop");
  } catch (const ContinueSignal&) {
    fail("continue outside a loop");
  }
}

std::string Interpreter::block(const Block& statements, const EnvPtr& env) {
  std::string out;
  for (const NodePtr& s : statements) {
    const Value v = eval(*s, env);
    if (v.is(Value::Kind::none) || v.is(Value::Kind::undefined)) continue;
    if (v.is(Value::Kind::string))
      out += v.s;
    else
      out += to_display(v, limits_);
    check_size(out.size());
  }
  return out;
}

Value Interpreter::eval(const Node& node, const EnvPtr& env) {
  if (++depth_ > kMaxEvalDepth) {
    --depth_;
    throw Failure{"evaluation nested deeper than " + std::to_string(kMaxEvalDepth) +
                      " levels (recursive macro?)",
                  node.offset};
  }
  try {
    Value v = eval_node(node, env);
    --depth_;
    return v;
  } catch (Failure& f) {
    --depth_;
    if (f.offset == static_cast<std::size_t>(-1)) f.offset = node.offset;
    throw;
  } catch (...) {
    --depth_;
    throw;
  }
}

Value Interpreter::eval_node(const Node& n, const EnvPtr& env) {
  switch (n.kind) {
    case NodeKind::program:
      return Value::string(block(n.body, env));
    case NodeKind::text:
    case NodeKind::string_literal:
      return Value::string(n.str);
    case NodeKind::integer_literal:
      return Value::integer(n.i);
    case NodeKind::float_literal:
      return Value::floating(n.d);
    case NodeKind::identifier:
      return env->lookup(n.str);
    case NodeKind::array_literal:
    case NodeKind::tuple_literal: {
      Array items;
      for (const NodePtr& x : n.list)
        items.push_back(eval(*x, env));
      Value v = Value::array(std::move(items));
      v.is_tuple = n.kind == NodeKind::tuple_literal;
      return v;
    }
    case NodeKind::object_literal: {
      Value o = Value::object();
      for (std::size_t k = 0; k < n.list.size(); ++k) {
        const Value key = eval(*n.list[k], env);
        if (!key.is(Value::Kind::string))
          fail(std::string("Object keys must be strings: got ") + key.type_name());
        o.set(key.s, eval(*n.list2[k], env));
      }
      return o;
    }
    case NodeKind::unary: {
      const Value arg = eval(*n.a, env);
      if (n.str == "not") return Value::boolean(!arg.truthy());
      const bool neg = n.str == "-";
      if (arg.is(Value::Kind::floating)) return Value::floating(neg ? -arg.d : arg.d);
      if (arg.is(Value::Kind::integer) || arg.is(Value::Kind::boolean)) {
        const std::int64_t x = arg.is(Value::Kind::boolean) ? (arg.b ? 1 : 0) : arg.i;
        std::int64_t r = 0;
        if (__builtin_mul_overflow(x, neg ? -1 : 1, &r)) fail("integer overflow");
        return Value::integer(r);
      }
      fail("Unknown operator \"" + n.str + "\" for " + arg.type_name());
    }
    case NodeKind::binary:
      return binary(n, env);
    case NodeKind::member:
      return member(n, env);
    case NodeKind::call:
      return call(n, env);
    case NodeKind::filter:
      return filter(eval(*n.a, env), *n.b, env);
    case NodeKind::test: {
      const Value operand = eval(*n.a, env);
      bool known = true;
      const bool r = run_test(n.str, operand, nullptr, &known);
      if (!known) fail("Unknown test: " + n.str);
      return Value::boolean(n.flag ? !r : r);
    }
    case NodeKind::select:
      if (!eval(*n.b, env).truthy()) return Value::undefined();
      return eval(*n.a, env);
    case NodeKind::ternary:
      return eval(*n.a, env).truthy() ? eval(*n.b, env) : eval(*n.c, env);
    case NodeKind::if_statement:
      return Value::string(block(eval(*n.a, env).truthy() ? n.body : n.alt, env));
    case NodeKind::for_statement:
      return for_loop(n, env);
    case NodeKind::set_statement:
      return set(n, env);
    case NodeKind::macro:
      return macro(n, env);
    case NodeKind::call_statement:
      return call_block(n, env);
    case NodeKind::filter_statement:
      return filter(Value::string(block(n.body, env)), *n.a, env);
    case NodeKind::break_statement:
      throw BreakSignal{};
    case NodeKind::continue_statement:
      throw ContinueSignal{};
    case NodeKind::comment:
      return Value::none();
    case NodeKind::slice:
    case NodeKind::keyword_argument:
    case NodeKind::spread:
    case NodeKind::keyword_spread:
      break;
  }
  fail("Unknown node type");
}

Value Interpreter::binary(const Node& n, const EnvPtr& env) {
  const Value left = eval(*n.a, env);
  const std::string& op = n.str;
  if (op == "and") return left.truthy() ? eval(*n.b, env) : left;
  if (op == "or") return left.truthy() ? left : eval(*n.b, env);
  const Value right = eval(*n.b, env);
  if (op == "==") return Value::boolean(loose_equals(left, right));
  if (op == "!=") return Value::boolean(!loose_equals(left, right));
  if (left.is(K::undefined) || right.is(K::undefined)) {
    if (right.is(K::undefined) && (op == "in" || op == "not in"))
      return Value::boolean(op == "not in");
    fail("Cannot perform operation " + op + " on undefined values");
  }
  if (left.is(K::none) || right.is(K::none)) fail("Cannot perform operation on null values");
  if (op == "~") {
    std::string s = to_js_string(left, limits_);
    s += to_js_string(right, limits_);
    check_size(s.size());
    return Value::string(std::move(s));
  }
  if (op == "**" && numeric_like(left) && numeric_like(right)) {
    const double a = numeric(left);
    const double b = numeric(right);
    if (a == 0 && b < 0) fail("0.0 cannot be raised to a negative power");
    const double r = std::pow(a, b);
    if (!std::isfinite(r)) fail("Exponentiation result is not a finite real number");
    if (left.is(K::floating) || right.is(K::floating) || b < 0) return Value::floating(r);
    const auto i = checked_int64(r);
    if (!i) fail("integer overflow");
    return Value::integer(*i);
  }
  if (left.is_number() && right.is_number()) {
    const bool is_float = left.is(K::floating) || right.is(K::floating);
    const double a = numeric(left);
    const double b = numeric(right);
    if (op == "+" || op == "-" || op == "*") {
      if (is_float) return Value::floating(op == "+" ? a + b : op == "-" ? a - b : a * b);
      std::int64_t r = 0;
      const bool overflow = op == "+"   ? __builtin_add_overflow(left.i, right.i, &r)
                            : op == "-" ? __builtin_sub_overflow(left.i, right.i, &r)
                                        : __builtin_mul_overflow(left.i, right.i, &r);
      if (overflow) fail("integer overflow");
      return Value::integer(r);
    }
    if (op == "/") return Value::floating(a / b);
    if (op == "//" || op == "%") {
      if (!is_float) {
        if (right.i == 0) fail("integer division or modulo by zero");
        if (left.i == INT64_MIN && right.i == -1) fail("integer overflow");
        if (op == "%") return Value::integer(left.i % right.i);  // JavaScript's sign rule
        std::int64_t q = left.i / right.i;
        if ((left.i % right.i != 0) && ((left.i < 0) != (right.i < 0))) --q;
        return Value::integer(q);
      }
      return Value::floating(op == "%" ? std::fmod(a, b) : std::floor(a / b));
    }
    if (op == "<") return Value::boolean(a < b);
    if (op == ">") return Value::boolean(a > b);
    if (op == ">=") return Value::boolean(a >= b);
    if (op == "<=") return Value::boolean(a <= b);
  } else if (left.is(K::array) && right.is(K::array)) {
    if (op == "+") {
      check_items(left.arr->size() + right.arr->size());
      Array items = *left.arr;
      items.insert(items.end(), right.arr->begin(), right.arr->end());
      return Value::array(std::move(items));
    }
  } else if (right.is(K::array)) {
    bool member = false;
    for (const Value& x : *right.arr)
      if (strict_equals(x, left)) member = true;
    if (op == "in") return Value::boolean(member);
    if (op == "not in") return Value::boolean(!member);
  }
  if ((left.is(K::string) || right.is(K::string)) && op == "+") {
    std::string s = to_js_string(left, limits_);
    s += to_js_string(right, limits_);
    check_size(s.size());
    return Value::string(std::move(s));
  }
  if (left.is(K::string) && right.is(K::string) && (op == "in" || op == "not in"))
    return Value::boolean((right.s.find(left.s) != std::string::npos) == (op == "in"));
  if (left.is(K::string) && right.is_mapping() && (op == "in" || op == "not in"))
    return Value::boolean((right.find(left.s) != nullptr) == (op == "in"));
  fail("Unknown operator \"" + op + "\" between " + left.type_name() + " and " + right.type_name());
}

Value Interpreter::slice(const Value& object, const Node& n, const EnvPtr& env) {
  if (!object.is(K::array) && !object.is(K::string))
    fail("Slice object must be an array or string");
  const Value start = n.a ? eval(*n.a, env) : Value::undefined();
  const Value stop = n.b ? eval(*n.b, env) : Value::undefined();
  const Value step = n.c ? eval(*n.c, env) : Value::undefined();
  for (const Value* v : {&start, &stop, &step})
    if (!v->is(K::integer) && !v->is(K::undefined))
      fail("Slice start, stop and step must be integers or undefined");
  // Strings slice by code point (Array.from), arrays by element.
  std::vector<std::string> chars;
  if (object.is(K::string)) {
    for (std::size_t k = 0; k < object.s.size();) {
      const auto c = static_cast<unsigned char>(object.s[k]);
      std::size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      len = std::min(len, object.s.size() - k);
      chars.push_back(object.s.substr(k, len));
      k += len;
    }
  }
  const auto size =
      static_cast<std::int64_t>(object.is(K::string) ? chars.size() : object.arr->size());
  const std::int64_t st = step.is(K::integer) ? step.i : 1;
  if (st == 0) fail("slice step cannot be zero");
  std::int64_t a = 0;
  std::int64_t b = 0;
  if (st > 0) {
    a = start.is(K::integer) ? start.i : 0;
    a = a < 0 ? std::max<std::int64_t>(size + a, 0) : std::min(a, size);
    b = stop.is(K::integer) ? stop.i : size;
    b = b < 0 ? std::max<std::int64_t>(size + b, 0) : std::min(b, size);
  } else {
    a = start.is(K::integer) ? start.i : size - 1;
    a = a < 0 ? std::max<std::int64_t>(size + a, -1) : std::min(a, size - 1);
    b = stop.is(K::integer) ? stop.i : -1;
    b = b < -1 ? std::max<std::int64_t>(size + b, -1) : std::min(b, size - 1);
  }
  const std::int64_t dir = st > 0 ? 1 : -1;
  if (object.is(K::string)) {
    std::string out;
    for (std::int64_t k = a; dir * k < dir * b; k += st)
      out += chars[static_cast<std::size_t>(k)];
    return Value::string(std::move(out));
  }
  Array out;
  for (std::int64_t k = a; dir * k < dir * b; k += st)
    out.push_back((*object.arr)[static_cast<std::size_t>(k)]);
  return Value::array(std::move(out));
}

Value Interpreter::member(const Node& n, const EnvPtr& env) {
  const Value object = eval(*n.a, env);
  Value property;
  if (n.flag) {
    if (n.b->kind == NodeKind::slice) return slice(object, *n.b, env);
    property = eval(*n.b, env);
  } else if (n.b->kind == NodeKind::integer_literal) {
    property = Value::integer(n.b->i);
  } else {
    property = Value::string(n.b->str);
  }
  if (object.is(K::object)) {
    if (!property.is(K::string))
      fail(std::string("Cannot access property with non-string: got ") + property.type_name());
    if (const Value* v = object.find(property.s)) return *v;
    if (object.is_namespace) return Value::undefined();
    return builtin_member(object, property.s, limits_);
  }
  if (object.is(K::array) || object.is(K::string)) {
    if (property.is(K::integer)) {
      if (object.is(K::array)) {
        const auto size = static_cast<std::int64_t>(object.arr->size());
        const std::int64_t k = property.i < 0 ? size + property.i : property.i;
        if (k < 0 || k >= size) return Value::undefined();
        return (*object.arr)[static_cast<std::size_t>(k)];
      }
      // Index by code point (the reference indexes UTF-16 units; they agree below U+10000).
      std::vector<std::size_t> starts;
      for (std::size_t p = 0; p < object.s.size(); ++p)
        if ((static_cast<unsigned char>(object.s[p]) & 0xC0) != 0x80) starts.push_back(p);
      const auto size = static_cast<std::int64_t>(starts.size());
      const std::int64_t k = property.i < 0 ? size + property.i : property.i;
      if (k < 0 || k >= size) return Value::undefined();
      const std::size_t from = starts[static_cast<std::size_t>(k)];
      const std::size_t to = static_cast<std::size_t>(k + 1) < starts.size()
                                 ? starts[static_cast<std::size_t>(k + 1)]
                                 : object.s.size();
      return Value::string(object.s.substr(from, to - from));
    }
    if (property.is(K::string)) return builtin_member(object, property.s, limits_);
    fail(std::string("Cannot access property with non-string/non-number: got ") +
         property.type_name());
  }
  if (!property.is(K::string))
    fail(std::string("Cannot access property with non-string: got ") + property.type_name());
  return Value::undefined();
}

std::pair<std::vector<Value>, Object> Interpreter::arguments(const std::vector<NodePtr>& args,
                                                             const EnvPtr& env) {
  std::vector<Value> positional;
  Object kwargs;
  auto add_kw = [&](const std::string& key, Value v) {
    for (const auto& [k, old] : kwargs)
      if (k == key) fail("Got multiple values for keyword argument '" + key + "'");
    kwargs.emplace_back(key, std::move(v));
  };
  for (const NodePtr& a : args) {
    if (a->kind == NodeKind::spread) {
      const Value v = eval(*a->a, env);
      if (!v.is(Value::Kind::array))
        fail(std::string("Cannot unpack non-iterable type: ") + v.type_name());
      for (const Value& x : *v.arr)
        positional.push_back(x);
    } else if (a->kind != NodeKind::keyword_argument && a->kind != NodeKind::keyword_spread) {
      positional.push_back(eval(*a, env));
    }
  }
  for (const NodePtr& a : args) {
    if (a->kind == NodeKind::keyword_argument) {
      add_kw(a->str, eval(*a->a, env));
    } else if (a->kind == NodeKind::keyword_spread) {
      const Value v = eval(*a->a, env);
      if (!v.is_mapping())
        fail(std::string("Argument after ** must be a mapping, not ") + v.type_name());
      for (const auto& [k, x] : *v.obj)
        add_kw(k, x);
    }
  }
  return {std::move(positional), std::move(kwargs)};
}

Value Interpreter::call(const Node& n, const EnvPtr& env) {
  auto [args, kwargs] = arguments(n.list, env);
  if (!kwargs.empty()) {
    Value kw = Value::object(std::move(kwargs));
    kw.is_kwargs = true;
    args.push_back(std::move(kw));
  }
  const Value fn = eval(*n.a, env);
  if (!fn.is(Value::Kind::function))
    fail(std::string("Cannot call something that is not a function: got ") + fn.type_name());
  return (*fn.fn)(args, env);
}

}  // namespace agentrt::chat::jinja
