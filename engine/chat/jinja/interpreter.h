// Evaluates a template's syntax tree with the reference renderer's semantics
// (@huggingface/jinja 0.5.11's Interpreter): scopes, statements, operators, filters, tests
// and the methods of strings and objects. Internal to agentrt_jinja; use template.h.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/chat/jinja/ast.h"
#include "engine/chat/jinja/value.h"

namespace agentrt::chat::jinja {

class Interpreter;

// A variable scope; lookups walk to the parent. Shared, since call blocks capture theirs.
class Env {
 public:
  explicit Env(std::shared_ptr<Env> parent = nullptr) : parent_(std::move(parent)) {}
  Value lookup(const std::string& name) const;
  void set(const std::string& name, Value v) { vars_[name] = std::move(v); }
  void clear() { vars_.clear(); }

 private:
  std::shared_ptr<Env> parent_;
  std::unordered_map<std::string, Value> vars_;
};
using EnvPtr = std::shared_ptr<Env>;

// The names every render sees: namespace, range, raise_exception, strftime_now, true/false/
// none (and True/False/None).
void install_globals(Env& env, Interpreter& interpreter);

// Thrown by {% break %} / {% continue %}, caught by the enclosing loop.
struct BreakSignal {};
struct ContinueSignal {};

class Interpreter {
 public:
  explicit Interpreter(const Limits& limits) : limits_(limits) {}
  // Breaks the reference cycles a template can build (a namespace holding itself, a call
  // block's caller stored where its scope reaches it), so nothing leaks.
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;
  // namespace(...): a new namespace value, tracked for the cycle breaking above.
  Value make_namespace(std::vector<Value>& args);
  // Renders program into text; throws Failure (with the offset of the failing node).
  std::string run(const Node& program, const EnvPtr& env);

  Value eval(const Node& node, const EnvPtr& env);
  const Limits& limits() const { return limits_; }
  void check_size(std::size_t size) const;
  void check_items(std::size_t count) const;

 private:
  std::string block(const Block& statements, const EnvPtr& env);
  Value eval_node(const Node& node, const EnvPtr& env);
  Value binary(const Node& node, const EnvPtr& env);
  Value member(const Node& node, const EnvPtr& env);
  Value slice(const Value& object, const Node& node, const EnvPtr& env);
  Value call(const Node& node, const EnvPtr& env);
  std::pair<std::vector<Value>, Object> arguments(const std::vector<NodePtr>& args,
                                                  const EnvPtr& env);
  Value for_loop(const Node& node, const EnvPtr& env);
  Value set(const Node& node, const EnvPtr& env);
  Value macro(const Node& node, const EnvPtr& env);
  Value call_block(const Node& node, const EnvPtr& env);
  void bind_macro_arguments(const std::string& name, const std::vector<NodePtr>& params,
                            bool kwargs, bool varargs, std::vector<Value> args,
                            const EnvPtr& scope);
  Value filter(const Value& operand, const Node& filter, const EnvPtr& env);
  Value filter_call(const Value& operand, const Node& filter, const EnvPtr& env);

  Limits limits_;
  int depth_ = 0;
  std::size_t iterations_ = 0;
  std::vector<EnvPtr> captured_;
  std::vector<std::shared_ptr<Object>> namespaces_;
};

// Tests (`x is NAME`), with the reference's definitions; false when name is unknown and
// *known is set false.
bool run_test(const std::string& name, const Value& a, const Value* b, bool* known);
// A method or property of a string or object (`s.strip`, `d.items`); undefined when none.
Value builtin_member(const Value& object, const std::string& name, const Limits& limits);
// Total order used by sort and dictsort (errors for mixed types, as the reference).
int compare_values(const Value& a, const Value& b, bool case_sensitive);
// JavaScript `==` and `===` between values.
bool loose_equals(const Value& a, const Value& b);
bool strict_equals(const Value& a, const Value& b);
// UTF-16 length of UTF-8 text (JavaScript's string length).
std::int64_t js_length(const std::string& s);
// JavaScript trim / trimStart / trimEnd.
std::string js_trim(const std::string& s, bool start, bool end);
std::string ascii_upper(std::string s);
// Filter helpers shared by filters.cpp and filter_calls.cpp. JavaScript parseInt/parseFloat
// (nullopt for NaN); a dotted attribute path ("a.b", "items.0"); an item's text in join;
// the indent filter's text.
std::optional<double> parse_number(const std::string& s, bool integer);
Value attribute(const Value& item, const std::string& path);
std::string join_item(const Value& v, const Limits& limits);
std::string indent_text(const std::string& s, const std::string& pad, bool first, bool blank);
std::string ascii_lower(std::string s);

}  // namespace agentrt::chat::jinja
