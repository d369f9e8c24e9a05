#include "engine/grammar/schema_compiler.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentrt::grammar {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kAnnotations[] = {"title",      "description", "default",  "examples",
                                             "format",     "$comment",    "$schema",  "$id",
                                             "deprecated", "readOnly",    "writeOnly"};
constexpr std::string_view kStructural[] = {
    "type",  "properties", "required", "additionalProperties",
    "items", "minItems",   "maxItems", "enum",
    "const", "anyOf",      "oneOf",    "$ref",
    "$defs", "definitions"};

bool contains(std::span<const std::string_view> set, std::string_view key) {
  return std::find(set.begin(), set.end(), key) != set.end();
}

// RFC 6901 escaping of one reference token.
std::string escape_token(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string compact(const Json& v) {
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Error invalid(const std::string& ptr, const std::string& what) {
  return make_error(ErrorCode::invalid_argument, (ptr.empty() ? "/" : ptr) + ": " + what);
}
Error unsupported(const std::string& ptr, const std::string& what) {
  return make_error(ErrorCode::unsupported, (ptr.empty() ? "/" : ptr) + ": " + what);
}

// Counts values and nesting without recursion (the document may be hostile).
Status check_size(const Json& doc, const CompileLimits& limits) {
  std::vector<std::pair<const Json*, std::size_t>> stack{{&doc, 1}};
  std::size_t values = 0;
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    if (++values > limits.max_values) {
      return invalid("", "schema has more than " + std::to_string(limits.max_values) + " values");
    }
    if (depth > limits.max_depth) {
      return invalid("",
                     "schema nests deeper than " + std::to_string(limits.max_depth) + " levels");
    }
    if (v->is_structured()) {
      for (const auto& child : *v)
        stack.push_back({&child, depth + 1});
    }
  }
  return ok_status();
}

}  // namespace

class SchemaCompiler {
 public:
  SchemaCompiler(const Json& root, const CompileLimits& limits)
      : root_(root), limits_(limits), g_(std::make_shared<SchemaGrammar>()) {}

  Result<std::shared_ptr<const SchemaGrammar>> run() {
    AGENTRT_TRY(check_size(root_, limits_));
    Node* root = make(NodeKind::literal, "");
    AGENTRT_TRY(compile_into(*root, root_, ""));
    // $ref targets compile here, not where they are met, so recursion stays as deep as the
    // document (chains of refs could otherwise nest without bound).
    while (!pending_.empty()) {
      auto [ptr, node] = pending_.front();
      pending_.pop_front();
      const Json* target = resolve(ptr);
      if (!target) return invalid(node->pointer, "$ref target '#" + ptr + "' does not exist");
      AGENTRT_TRY(compile_into(*node, *target, ptr));
    }
    AGENTRT_TRY(finish());
    g_->root_ = root;
    return std::shared_ptr<const SchemaGrammar>(std::move(g_));
  }

 private:
  Node* make(NodeKind kind, std::string ptr) {
    g_->nodes_.push_back(std::make_unique<Node>());
    Node* n = g_->nodes_.back().get();
    n->kind = kind;
    n->pointer = std::move(ptr);
    return n;
  }

  Result<const Node*> compile(const Json& s, const std::string& ptr) {
    Node* n = make(NodeKind::literal, ptr);
    AGENTRT_TRY(compile_into(*n, s, ptr));
    return static_cast<const Node*>(n);
  }

  // Any JSON value: built once, shared (and self-referencing through objects and arrays).
  const Node* any() {
    if (any_) return any_;
    Node* a = make(NodeKind::any_of, "");
    any_ = a;
    Node* obj = make(NodeKind::object, "");
    obj->additional = a;
    Node* arr = make(NodeKind::array, "");
    arr->items = a;
    Node* lit = make(NodeKind::literal, "");
    lit->literals = {"false", "null", "true"};
    a->alternatives = {obj, arr, make(NodeKind::string, ""), make(NodeKind::number, ""), lit};
    return a;
  }

  const Json* resolve(const std::string& ptr) const {
    if (ptr.empty()) return &root_;
    try {
      const Json::json_pointer p(ptr);
      if (!root_.contains(p)) return nullptr;
      return &root_.at(p);
    } catch (const Json::exception&) {
      return nullptr;
    }
  }

  Status compile_into(Node& out, const Json& s, const std::string& ptr) {
    out.pointer = ptr;
    if (s.is_boolean()) {
      if (!s.get<bool>()) return unsupported(ptr, "schema false admits no value");
      out.kind = NodeKind::ref;
      out.target = any();
      return ok_status();
    }
    if (!s.is_object()) return invalid(ptr, "a schema must be an object or a boolean");
    bool has_assertion = false;
    for (const auto& [key, value] : s.items()) {
      if (contains(kAnnotations, key)) continue;
      if (!contains(kStructural, key)) {
        return unsupported(ptr + "/" + escape_token(key), "unsupported keyword '" + key + "'");
      }
      if (key != "$defs" && key != "definitions" && key != "$ref") has_assertion = true;
    }
    for (const char* defs : {"$defs", "definitions"}) {
      if (s.contains(defs) && !s[defs].is_object()) {
        return invalid(ptr + "/" + defs, "must be an object of schemas");
      }
    }
    if (s.contains("$ref")) return compile_ref(out, s, ptr, has_assertion);
    if (s.contains("enum") || s.contains("const")) return compile_literal(out, s, ptr);
    if (s.contains("anyOf") || s.contains("oneOf")) return compile_any_of(out, s, ptr);
    if (!s.contains("type")) {
      if (s.contains("properties") || s.contains("required") ||
          s.contains("additionalProperties")) {
        return compile_type(out, "object", s, ptr);
      }
      if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) {
        return compile_type(out, "array", s, ptr);
      }
      out.kind = NodeKind::ref;
      out.target = any();
      return ok_status();
    }
    const Json& type = s["type"];
    if (type.is_string()) return compile_type(out, type.get<std::string>(), s, ptr);
    if (!type.is_array() || type.empty()) {
      return invalid(ptr + "/type", "must be a type name or a non-empty list of them");
    }
    std::vector<std::string> names;
    for (std::size_t i = 0; i < type.size(); ++i) {
      if (!type[i].is_string())
        return invalid(ptr + "/type/" + std::to_string(i), "must be a string");
      names.push_back(type[i].get<std::string>());
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    // Every integer is a number: the number branch covers both.
    if (std::binary_search(names.begin(), names.end(), "number")) {
      std::erase(names, std::string("integer"));
    }
    if (names.size() == 1) return compile_type(out, names[0], s, ptr);
    out.kind = NodeKind::any_of;
    for (const auto& name : names) {
      Node* alt = make(NodeKind::literal, ptr);
      AGENTRT_TRY(compile_type(*alt, name, s, ptr));
      out.alternatives.push_back(alt);
    }
    return ok_status();
  }

  Status compile_ref(Node& out, const Json& s, const std::string& ptr, bool has_assertion) {
    if (has_assertion) {
      return unsupported(ptr + "/$ref", "$ref next to other assertion keywords is unsupported");
    }
    const Json& ref = s["$ref"];
    if (!ref.is_string()) return invalid(ptr + "/$ref", "must be a string");
    const auto text = ref.get<std::string>();
    if (text.empty() || text[0] != '#') {
      return unsupported(ptr + "/$ref", "only local references ('#...') are supported");
    }
    const std::string target = text.substr(1);
    if (!target.empty() && !resolve(target)) {
      return invalid(ptr + "/$ref", "target '" + text + "' does not exist");
    }
    out.kind = NodeKind::ref;
    auto [it, inserted] = refs_.try_emplace(target, nullptr);
    if (inserted) {
      it->second = make(NodeKind::literal, target);
      pending_.emplace_back(target, it->second);
    }
    out.target = it->second;
    return ok_status();
  }

  Status compile_literal(Node& out, const Json& s, const std::string& ptr) {
    if (s.contains("enum") && s.contains("const")) {
      return unsupported(ptr + "/const", "enum and const together are unsupported");
    }
    out.kind = NodeKind::literal;
    if (s.contains("const")) {
      out.literals.push_back(compact(s["const"]));
    } else {
      const Json& e = s["enum"];
      if (!e.is_array() || e.empty()) return invalid(ptr + "/enum", "must be a non-empty array");
      if (e.size() > limits_.max_literals) {
        return invalid(ptr + "/enum",
                       "more than " + std::to_string(limits_.max_literals) + " values");
      }
      for (const auto& v : e)
        out.literals.push_back(compact(v));
    }
    for (const auto& l : out.literals) {
      literal_bytes_ += l.size();
    }
    if (literal_bytes_ > limits_.max_literal_bytes) {
      return invalid(ptr, "enum and const values exceed " +
                              std::to_string(limits_.max_literal_bytes) + " bytes in all");
    }
    std::sort(out.literals.begin(), out.literals.end());
    out.literals.erase(std::unique(out.literals.begin(), out.literals.end()), out.literals.end());
    return ok_status();
  }

  Status compile_any_of(Node& out, const Json& s, const std::string& ptr) {
    const char* key = s.contains("anyOf") ? "anyOf" : "oneOf";
    if (s.contains("anyOf") && s.contains("oneOf")) {
      return unsupported(ptr + "/oneOf", "anyOf and oneOf together are unsupported");
    }
    for (const auto& [k, v] : s.items()) {
      if (k != key && contains(kStructural, k) && k != "$defs" && k != "definitions") {
        return unsupported(ptr + "/" + escape_token(k),
                           "'" + k + "' next to " + key + " is unsupported");
      }
    }
    const Json& alts = s[key];
    const std::string base = ptr + "/" + key;
    if (!alts.is_array() || alts.empty()) return invalid(base, "must be a non-empty array");
    out.kind = NodeKind::any_of;
    for (std::size_t i = 0; i < alts.size(); ++i) {
      auto alt = compile(alts[i], base + "/" + std::to_string(i));
      if (!alt.ok()) return alt.error();
      out.alternatives.push_back(*alt);
    }
    return ok_status();
  }

  Status compile_type(Node& out, const std::string& type, const Json& s, const std::string& ptr) {
    if (type == "object") return compile_object(out, s, ptr);
    if (type == "array") return compile_array(out, s, ptr);
    if (type == "string") {
      out.kind = NodeKind::string;
    } else if (type == "number" || type == "integer") {
      out.kind = NodeKind::number;
      out.integer = type == "integer";
    } else if (type == "boolean") {
      out.kind = NodeKind::literal;
      out.literals = {"false", "true"};
    } else if (type == "null") {
      out.kind = NodeKind::literal;
      out.literals = {"null"};
    } else {
      return invalid(ptr + "/type", "unknown type '" + type + "'");
    }
    return ok_status();
  }

  Status compile_object(Node& out, const Json& s, const std::string& ptr) {
    out.kind = NodeKind::object;
    if (s.contains("properties")) {
      const Json& props = s["properties"];
      if (!props.is_object()) return invalid(ptr + "/properties", "must be an object of schemas");
      for (const auto& [key, value] : props.items()) {
        auto node = compile(value, ptr + "/properties/" + escape_token(key));
        if (!node.ok()) return node.error();
        std::string quoted = compact(Json(key));
        out.properties.push_back({quoted.substr(1, quoted.size() - 2), *node, false});
      }
    }
    const Node* additional = any();
    if (s.contains("additionalProperties")) {
      const Json& ap = s["additionalProperties"];
      if (ap.is_boolean()) {
        additional = ap.get<bool>() ? any() : nullptr;
      } else {
        auto node = compile(ap, ptr + "/additionalProperties");
        if (!node.ok()) return node.error();
        additional = *node;
      }
    }
    std::vector<std::string> declared;
    for (const auto& p : out.properties)
      declared.push_back(p.key_json);
    if (s.contains("required")) {
      const Json& req = s["required"];
      if (!req.is_array()) return invalid(ptr + "/required", "must be an array of strings");
      for (std::size_t i = 0; i < req.size(); ++i) {
        if (!req[i].is_string()) {
          return invalid(ptr + "/required/" + std::to_string(i), "must be a string");
        }
        std::string quoted = compact(req[i]);
        std::string key = quoted.substr(1, quoted.size() - 2);
        auto it = std::find(declared.begin(), declared.end(), key);
        if (it == declared.end()) {  // required, not described: additionalProperties holds it
          if (additional == nullptr) {
            return unsupported(ptr + "/required/" + std::to_string(i),
                               "'" + req[i].get<std::string>() +
                                   "' is required but additionalProperties is false");
          }
          out.properties.push_back({key, additional, true});
          declared.push_back(key);
        } else {
          out.properties[static_cast<std::size_t>(it - declared.begin())].required = true;
        }
      }
    }
    if (out.properties.size() > limits_.max_properties) {
      return invalid(ptr + "/properties",
                     "more than " + std::to_string(limits_.max_properties) + " properties");
    }
    for (std::size_t i = 0; i < out.properties.size(); ++i) {
      if (out.properties[i].required) out.required_mask |= 1ull << i;
    }
    // With declared properties only those are generated; otherwise any key, if allowed.
    if (out.properties.empty()) out.additional = additional;
    return ok_status();
  }

  Status compile_array(Node& out, const Json& s, const std::string& ptr) {
    out.kind = NodeKind::array;
    out.items = any();
    if (s.contains("items")) {
      const Json& items = s["items"];
      if (items.is_array()) {
        return unsupported(ptr + "/items", "a list of item schemas (tuple) is unsupported");
      }
      if (items.is_boolean() && !items.get<bool>()) {
        out.max_items = 0;
      } else {
        auto node = compile(items, ptr + "/items");
        if (!node.ok()) return node.error();
        out.items = *node;
      }
    }
    for (const char* key : {"minItems", "maxItems"}) {
      if (!s.contains(key)) continue;
      const Json& v = s[key];
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
        return invalid(ptr + "/" + key, "must be a non-negative integer");
      }
      const auto n = v.get<std::uint64_t>();
      const auto capped = static_cast<std::uint32_t>(std::min<std::uint64_t>(n, UINT32_MAX));
      if (std::string_view(key) == "minItems") {
        if (n > limits_.max_min_items) {
          return invalid(ptr + "/minItems",
                         "more than " + std::to_string(limits_.max_min_items) + " is unsupported");
        }
        out.min_items = capped;
      } else {
        out.max_items = std::min(out.max_items, capped);
      }
    }
    if (out.min_items > out.max_items) {
      return unsupported(ptr + "/minItems", "minItems exceeds maxItems: no array fits");
    }
    return ok_status();
  }

  // First bytes a node's values can start with (memoized: shared refs would otherwise
  // cost exponential time); errors on a $ref/anyOf cycle that consumes no input.
  Status first_bytes(const Node* n, std::array<bool, 256>& out) {
    if (auto it = first_.find(n); it != first_.end()) {
      for (std::size_t b = 0; b < 256; ++b)
        out[b] = out[b] || it->second[b];
      return ok_status();
    }
    if (!visiting_.insert(n).second) {
      return unsupported(n->pointer, "$ref/anyOf cycle that matches no input");
    }
    std::array<bool, 256> mine{};
    switch (n->kind) {
      case NodeKind::object:
        mine['{'] = true;
        break;
      case NodeKind::array:
        mine['['] = true;
        break;
      case NodeKind::string:
        mine['"'] = true;
        break;
      case NodeKind::number:
        mine['-'] = true;
        for (char c = '0'; c <= '9'; ++c)
          mine[static_cast<unsigned char>(c)] = true;
        break;
      case NodeKind::literal:
        for (const auto& l : n->literals)
          if (!l.empty()) mine[static_cast<unsigned char>(l[0])] = true;
        break;
      case NodeKind::ref:
        AGENTRT_TRY(first_bytes(n->target, mine));
        break;
      case NodeKind::any_of:
        for (const Node* a : n->alternatives)
          AGENTRT_TRY(first_bytes(a, mine));
        break;
    }
    visiting_.erase(n);
    first_.emplace(n, mine);
    for (std::size_t b = 0; b < 256; ++b)
      out[b] = out[b] || mine[b];
    return ok_status();
  }

  // Builds every anyOf's dispatch table and rejects overlapping alternatives and ref cycles.
  Status finish() {
    for (const auto& owned : g_->nodes_) {
      Node& n = *owned;
      if (n.kind == NodeKind::ref) {
        const Node* t = &n;
        for (std::size_t hops = 0; t->kind == NodeKind::ref; ++hops) {
          if (hops > g_->nodes_.size()) return unsupported(n.pointer, "$ref cycle");
          t = t->target;
        }
      }
      if (n.kind != NodeKind::any_of) continue;
      n.dispatch.fill(kNoAlternative);
      if (n.alternatives.size() >= kNoAlternative) {
        return unsupported(n.pointer, "more than 254 alternatives");
      }
      for (std::size_t i = 0; i < n.alternatives.size(); ++i) {
        std::array<bool, 256> bytes{};
        AGENTRT_TRY(first_bytes(n.alternatives[i], bytes));
        for (std::size_t b = 0; b < 256; ++b) {
          if (!bytes[b]) continue;
          if (n.dispatch[b] != kNoAlternative) {
            return unsupported(n.pointer, "alternatives " + std::to_string(n.dispatch[b]) +
                                              " and " + std::to_string(i) + " both start with '" +
                                              std::string(1, char(b)) +
                                              "' (anyOf/oneOf needs distinct JSON types)");
          }
          n.dispatch[b] = static_cast<std::uint8_t>(i);
        }
      }
    }
    return ok_status();
  }

  const Json& root_;
  const CompileLimits& limits_;
  std::shared_ptr<SchemaGrammar> g_;
  const Node* any_ = nullptr;
  std::map<std::string, Node*> refs_;
  std::deque<std::pair<std::string, Node*>> pending_;
  std::size_t literal_bytes_ = 0;
  std::map<const Node*, std::array<bool, 256>> first_;
  std::set<const Node*> visiting_;
};

Result<std::shared_ptr<const SchemaGrammar>> compile_schema(const nlohmann::ordered_json& schema,
                                                            const CompileLimits& limits) {
  return SchemaCompiler(schema, limits).run();
}

Result<std::shared_ptr<const SchemaGrammar>> compile_schema_text(std::string_view text,
                                                                 const CompileLimits& limits) {
  auto doc = nlohmann::ordered_json::parse(text, nullptr, false);
  if (doc.is_discarded()) return make_error(ErrorCode::parse, "schema is not valid JSON");
  return compile_schema(doc, limits);
}

}  // namespace agentrt::grammar
