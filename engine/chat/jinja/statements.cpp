// Statements with scopes of their own: for loops, set, macros and call blocks, with the
// reference's scoping (a loop body runs in one scope per loop; a macro runs in a child of its
// caller's scope; a call block's caller() in a child of the scope of the call).
#include <optional>

#include "engine/chat/jinja/interpreter.h"

namespace agentrt::chat::jinja {
namespace {

using K = Value::Kind;

// Identifiers named kwargs/varargs in a macro body (the reference collects the ones read
// before any declaration; reading them at all is what real templates do).
void find_special(const Node& n, bool* kwargs, bool* varargs) {
  if (n.kind == NodeKind::identifier) {
    if (n.str == "kwargs") *kwargs = true;
    if (n.str == "varargs") *varargs = true;
  }
  for (const Node* c : {n.a.get(), n.b.get(), n.c.get()})
    if (c != nullptr) find_special(*c, kwargs, varargs);
  for (const auto* v : {&n.list, &n.list2, &n.body, &n.alt})
    for (const NodePtr& c : *v)
      find_special(*c, kwargs, varargs);
}

}  // namespace

Value Interpreter::for_loop(const Node& n, const EnvPtr& env) {
  auto scope = std::make_shared<Env>(env);
  const Node* test = nullptr;
  Value iterable;
  if (n.b->kind == NodeKind::select) {
    iterable = eval(*n.b->a, scope);
    test = n.b->b.get();
  } else {
    iterable = eval(*n.b, scope);
  }
  if (!iterable.is(K::array) && !iterable.is_mapping())
    fail(std::string("Expected iterable or object type in for loop: got ") + iterable.type_name());
  Array source;
  if (iterable.is(K::object)) {
    for (const auto& [k, v] : *iterable.obj)
      source.push_back(Value::string(k));
  } else {
    source = *iterable.arr;
  }
  auto bind = [&](Env& target, const Value& current) {
    if (n.a->kind == NodeKind::identifier) {
      target.set(n.a->str, current);
      return;
    }
    if (!current.is(K::array) || current.is_tuple)
      fail(std::string("Cannot unpack non-iterable type: ") + current.type_name());
    if (n.a->list.size() != current.arr->size())
      fail(std::string("Too ") + (n.a->list.size() > current.arr->size() ? "few" : "many") +
           " items to unpack");
    for (std::size_t j = 0; j < n.a->list.size(); ++j) {
      if (n.a->list[j]->kind != NodeKind::identifier) fail("Cannot unpack non-identifier type");
      target.set(n.a->list[j]->str, (*current.arr)[j]);
    }
  };
  Array items;
  for (const Value& current : source) {
    if (++iterations_ > limits_.max_iterations)
      fail("more than " + std::to_string(limits_.max_iterations) + " loop iterations");
    if (test != nullptr) {
      auto loop_scope = std::make_shared<Env>(scope);
      bind(*loop_scope, current);
      if (!eval(*test, loop_scope).truthy()) continue;
    } else if (n.a->kind != NodeKind::identifier) {
      Env probe;
      bind(probe, current);  // unpack errors surface before the body runs, as in the reference
    }
    items.push_back(current);
  }
  std::string out;
  bool no_iteration = true;
  const auto count = static_cast<std::int64_t>(items.size());
  for (std::int64_t k = 0; k < count; ++k) {
    if (++iterations_ > limits_.max_iterations)
      fail("more than " + std::to_string(limits_.max_iterations) + " loop iterations");
    const auto uk = static_cast<std::size_t>(k);
    Value loop = Value::object({{"index", Value::integer(k + 1)},
                                {"index0", Value::integer(k)},
                                {"revindex", Value::integer(count - k)},
                                {"revindex0", Value::integer(count - k - 1)},
                                {"first", Value::boolean(k == 0)},
                                {"last", Value::boolean(k == count - 1)},
                                {"length", Value::integer(count)},
                                {"previtem", k > 0 ? items[uk - 1] : Value::undefined()},
                                {"nextitem", k < count - 1 ? items[uk + 1] : Value::undefined()}});
    scope->set("loop", std::move(loop));
    bind(*scope, items[uk]);
    try {
      out += block(n.body, scope);
      check_size(out.size());
    } catch (const ContinueSignal&) {
      continue;
    } catch (const BreakSignal&) {
      break;
    }
    no_iteration = false;
  }
  if (no_iteration) out += block(n.alt, scope);
  return Value::string(std::move(out));
}

Value Interpreter::set(const Node& n, const EnvPtr& env) {
  Value rhs = n.b ? eval(*n.b, env) : Value::string(block(n.body, env));
  const Node& target = *n.a;
  if (target.kind == NodeKind::identifier) {
    env->set(target.str, std::move(rhs));
  } else if (target.kind == NodeKind::tuple_literal) {
    if (!rhs.is(K::array))
      fail(std::string("Cannot unpack non-iterable type in set: ") + rhs.type_name());
    if (rhs.arr->size() != target.list.size())
      fail(std::string("Too ") + (target.list.size() > rhs.arr->size() ? "few" : "many") +
           " items to unpack in set");
    for (std::size_t k = 0; k < target.list.size(); ++k) {
      if (target.list[k]->kind != NodeKind::identifier)
        fail("Cannot unpack to non-identifier in set");
      env->set(target.list[k]->str, (*rhs.arr)[k]);
    }
  } else if (target.kind == NodeKind::member) {
    const Value object = eval(*target.a, env);
    if (!object.is(K::object) || !object.is_namespace)
      fail("cannot assign attribute on non-namespace object");
    if (target.b->kind != NodeKind::identifier || target.flag)
      fail("Cannot assign to member with non-identifier property");
    Value ns = object;
    ns.set(target.b->str, std::move(rhs));
  } else {
    fail("Invalid LHS inside assignment expression");
  }
  return Value::none();
}

void Interpreter::bind_macro_arguments(const std::string& name, const std::vector<NodePtr>& params,
                                       bool kwargs, bool varargs, std::vector<Value> args,
                                       const EnvPtr& scope) {
  Object keywords;
  if (!args.empty() && args.back().is(Value::Kind::object) && args.back().is_kwargs) {
    keywords = *args.back().obj;
    args.pop_back();
  }
  std::vector<const Node*> pending;
  for (std::size_t k = 0; k < params.size(); ++k) {
    const Node& p = *params[k];
    const std::string& pname = p.str;
    std::optional<Value> value;
    if (k < args.size()) value = args[k];
    if (!value) {
      for (auto it = keywords.begin(); it != keywords.end(); ++it)
        if (it->first == pname) {
          value = it->second;
          keywords.erase(it);
          break;
        }
    }
    if (!value && p.kind == NodeKind::keyword_argument) pending.push_back(&p);
    scope->set(pname, value ? *value : Value::undefined());
  }
  if (kwargs) {
    scope->set("kwargs", Value::object(std::move(keywords)));
  } else if (!keywords.empty()) {
    fail("macro " + name + " takes no keyword argument '" + keywords.front().first + "'");
  }
  if (varargs) {
    Array rest;
    for (std::size_t k = params.size(); k < args.size(); ++k)
      rest.push_back(args[k]);
    scope->set("varargs", Value::array(std::move(rest)));
  } else if (args.size() > params.size()) {
    fail("macro " + name + " takes not more than " + std::to_string(params.size()) +
         " argument(s)");
  }
  for (const Node* p : pending)
    scope->set(p->str, eval(*p->a, scope));
}

Value Interpreter::macro(const Node& n, const EnvPtr& env) {
  bool kwargs = false;
  bool varargs = false;
  for (const NodePtr& s : n.body)
    find_special(*s, &kwargs, &varargs);
  for (const NodePtr& p : n.list) {
    if (p->str == "kwargs") kwargs = false;
    if (p->str == "varargs") varargs = false;
  }
  const Node* node = &n;
  env->set(n.str, Value::function([this, node, kwargs, varargs](std::vector<Value>& args,
                                                                const EnvPtr& caller) {
             // The reference evaluates a macro in a child of the caller's scope.
             auto scope = std::make_shared<Env>(caller);
             bind_macro_arguments("'" + node->str + "'", node->list, kwargs, varargs, args, scope);
             return Value::string(block(node->body, scope));
           }));
  return Value::none();
}

Value Interpreter::call_block(const Node& n, const EnvPtr& env) {
  bool kwargs = false;
  bool varargs = false;
  for (const NodePtr& s : n.body)
    find_special(*s, &kwargs, &varargs);
  const Node* node = &n;
  EnvPtr captured = env;
  captured_.push_back(captured);
  Value caller = Value::function(
      [this, node, captured, kwargs, varargs](std::vector<Value>& args, const EnvPtr&) {
        auto scope = std::make_shared<Env>(captured);
        bind_macro_arguments("None", node->list, kwargs, varargs, args, scope);
        return Value::string(block(node->body, scope));
      });
  auto [args, kw] = arguments(n.a->list, env);
  Value kwv = Value::object(std::move(kw));
  kwv.is_kwargs = true;
  args.push_back(std::move(kwv));
  const Value fn = eval(*n.a->a, env);
  if (!fn.is(Value::Kind::function))
    fail(std::string("Cannot call something that is not a function: got ") + fn.type_name());
  auto scope = std::make_shared<Env>(env);
  scope->set("caller", std::move(caller));
  return (*fn.fn)(args, scope);
}

}  // namespace agentrt::chat::jinja
