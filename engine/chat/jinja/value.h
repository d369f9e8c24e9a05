// The runtime value of the Jinja interpreter, with the semantics of the reference renderer
// @huggingface/jinja (the renderer transformers.js uses): undefined, none, booleans, integers,
// floats, strings, arrays (and tuples), ordered objects, namespaces and callables. Arrays,
// objects and namespaces are shared by reference, as in the reference.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace agentrt::chat::jinja {

struct Value;
class Env;
using Array = std::vector<Value>;
// Insertion-ordered string map (templates render keys in the order they were given).
using Object = std::vector<std::pair<std::string, Value>>;
// A callable: positional arguments (keyword arguments, if any, as a trailing kwargs object)
// and the caller's scope (macros see it, as in the reference).
using Function = std::function<Value(std::vector<Value>& args, const std::shared_ptr<Env>& scope)>;

struct Value {
  enum class Kind { undefined, none, boolean, integer, floating, string, array, object, function };
  Kind kind = Kind::undefined;
  bool b = false;
  std::int64_t i = 0;
  double d = 0;
  std::string s;
  std::shared_ptr<Array> arr;   // array (tuple when is_tuple)
  std::shared_ptr<Object> obj;  // object (namespace / kwargs when flagged)
  std::shared_ptr<Function> fn;
  bool is_tuple = false;
  bool is_namespace = false;
  bool is_kwargs = false;

  static Value undefined() { return {}; }
  static Value none();
  static Value boolean(bool v);
  static Value integer(std::int64_t v);
  static Value floating(double v);
  static Value string(std::string v);
  static Value array(Array v = {});
  static Value object(Object v = {});
  static Value function(Function f);

  bool is(Kind k) const { return kind == k; }
  bool is_number() const { return kind == Kind::integer || kind == Kind::floating; }
  // An object in the reference's sense (ObjectValue, including kwargs; not a namespace).
  bool is_mapping() const { return kind == Kind::object && !is_namespace; }
  const char* type_name() const;  // the reference's type names, for error messages
  bool truthy() const;            // Python truthiness, as the reference's __bool__
  // Looks up key in an object or namespace; nullptr when absent.
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value v);  // object or namespace
};

// Text limits one render may produce; exceeding one is an error, never a crash.
struct Limits {
  std::size_t max_output_bytes = 8u << 20;  // also bounds every intermediate string
  std::size_t max_items = 1u << 20;         // array/object elements built by a template
  std::size_t max_iterations = 1u << 20;    // loop iterations in one render
  int max_depth = 200;                      // nesting of evaluation, macro calls and values
};

// Thrown inside the interpreter and caught at the Template boundary (never escapes it).
struct Failure {
  std::string message;
  std::size_t offset = static_cast<std::size_t>(-1);  // template byte offset, when known
};
[[noreturn]] void fail(std::string message);

// JSON text as the reference's toJSON: JavaScript JSON.stringify for scalars, Python
// json.dumps layout (", " / ": ", or "," with indent). undefined_as_null false writes
// "undefined" (the reference's str() of containers).
struct JsonOptions {
  int indent = 0;  // 0: one line
  bool ensure_ascii = false;
  bool sort_keys = false;
  bool has_separators = false;
  std::string item_sep, key_sep;
};
std::string to_json(const Value& v, const JsonOptions& options, bool undefined_as_null,
                    const Limits& limits);
// The reference's toString(): what {{ v }} prints.
std::string to_display(const Value& v, const Limits& limits);
// JavaScript's `v.value.toString()`, used by `~` and string `+`.
std::string to_js_string(const Value& v, const Limits& limits);
// JavaScript Number.prototype.toString.
std::string js_number(double d);
// d as an integer value, truncated toward zero; empty when d is not finite or does not fit
// in int64 (a template asking for it fails with "integer overflow" instead).
std::optional<std::int64_t> checked_int64(double d);

// Converts template input (parsed JSON) to values: integral numbers become integers, as
// JSON.parse + Number.isInteger do in the reference.
Value from_json(const nlohmann::ordered_json& j);

}  // namespace agentrt::chat::jinja
