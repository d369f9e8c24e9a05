// The syntax tree of a Jinja template (the reference renderer's node types). One Node struct
// serves every kind; each kind uses the fields named next to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace agentrt::chat::jinja {

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Block = std::vector<NodePtr>;

enum class NodeKind {
  program,           // body
  text,              // str
  string_literal,    // str
  integer_literal,   // i
  float_literal,     // d
  identifier,        // str
  array_literal,     // list
  tuple_literal,     // list
  object_literal,    // list (keys), list2 (values)
  unary,             // str (operator), a
  binary,            // str (operator), a, b
  member,            // a (object), b (property), flag (computed: obj[...])
  slice,             // a, b, c (start, stop, step; each may be null)
  call,              // a (callee), list (arguments)
  keyword_argument,  // str (name), a (value)
  spread,            // a: *a
  keyword_spread,    // a: **a
  filter,            // a (operand), b (identifier or call)
  test,              // a (operand), str (test name), flag (negated)
  select,            // a (value), b (condition): `a if b` without else
  ternary,           // a (condition), b (if true), c (if false)
  if_statement,      // a (test), body, alt
  for_statement,     // a (loop variable), b (iterable), body, alt (else)
  set_statement,     // a (target), b (value; null for a block set), body
  macro,             // str (name), list (parameters), body
  call_statement,    // a (call), list (caller parameters), flag (has them), body
  filter_statement,  // a (identifier or call), body
  break_statement,
  continue_statement,
  comment,
};

struct Node {
  NodeKind kind;
  std::size_t offset = 0;  // byte offset in the template, for error messages
  int height = 1;          // 1 + the tallest child: bounds evaluation depth
  std::string str;
  std::int64_t i = 0;
  double d = 0;
  bool flag = false;
  NodePtr a, b, c;
  std::vector<NodePtr> list, list2;
  Block body, alt;
};

}  // namespace agentrt::chat::jinja
