// SchemaGrammar: a JSON schema compiled to a graph of value nodes that a Matcher walks byte
// by byte (matcher.h). Built by compile_schema (schema_compiler.h); immutable afterwards and
// safe to share between threads. Output is compact JSON: no whitespace anywhere.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace agentrt::grammar {

enum class NodeKind : std::uint8_t {
  object,   // '{' properties '}'
  array,    // '[' items ']'
  string,   // any JSON string (escapes, valid UTF-8)
  number,   // JSON number; integer: no fraction or exponent
  literal,  // one of a set of JSON texts (enum, const, true/false, null)
  any_of,   // alternatives told apart by their first byte
  ref,      // $ref: the node `target`
};

struct Node;

struct Property {
  std::string key_json;  // the key as it appears between the quotes (JSON-escaped)
  const Node* value = nullptr;
  bool required = false;
};

struct Node {
  NodeKind kind = NodeKind::literal;
  // object: declared properties, any order, each at most once; the required ones always.
  // With no properties, `additional` (when set) admits any keys with values of that node;
  // unset, only "{}".
  std::vector<Property> properties;
  std::uint64_t required_mask = 0;
  const Node* additional = nullptr;
  // array
  const Node* items = nullptr;
  std::uint32_t min_items = 0;
  std::uint32_t max_items = UINT32_MAX;
  // number
  bool integer = false;
  // literal: sorted, distinct compact JSON texts
  std::vector<std::string> literals;
  // any_of: dispatch[first byte] is an index into alternatives, or kNoAlternative
  std::vector<const Node*> alternatives;
  std::array<std::uint8_t, 256> dispatch{};
  // ref
  const Node* target = nullptr;
  std::string pointer;  // JSON pointer of the schema this node came from (for messages)
};

inline constexpr std::uint8_t kNoAlternative = 0xff;

class SchemaGrammar {
 public:
  const Node* root() const { return root_; }
  std::size_t node_count() const { return nodes_.size(); }

 private:
  friend class SchemaCompiler;
  std::vector<std::unique_ptr<Node>> nodes_;
  const Node* root_ = nullptr;
};

}  // namespace agentrt::grammar
