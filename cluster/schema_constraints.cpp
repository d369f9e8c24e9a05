// SchemaConstraints (schema_constraints.h): an LRU of compiled schemas.
#include "cluster/schema_constraints.h"

#include <algorithm>

#include "engine/grammar/json_schema_constraint.h"
#include "engine/grammar/schema_compiler.h"

namespace agentrt::cluster {

SchemaConstraints::SchemaConstraints(std::shared_ptr<const grammar::TokenVocabulary> vocab,
                                     std::size_t capacity)
    : vocab_(std::move(vocab)), capacity_(std::max<std::size_t>(capacity, 1)) {}

Result<std::shared_ptr<const sampling::Constraint>> SchemaConstraints::get(
    std::string_view schema_text) const {
  {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(schema_text); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  if (!vocab_)
    return make_error(ErrorCode::unsupported,
                      "structured output: this node has no token vocabulary");
  auto grammar = grammar::compile_schema_text(schema_text);
  if (!grammar.ok()) return grammar.error();
  std::shared_ptr<const sampling::Constraint> made =
      std::make_shared<const grammar::JsonSchemaConstraint>(std::move(*grammar), vocab_,
                                                            std::string(schema_text));
  std::lock_guard lock(mu_);
  // Another thread may have compiled the same text meanwhile: keep one.
  if (auto it = index_.find(schema_text); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  lru_.emplace_front(std::string(schema_text), made);
  index_.emplace(lru_.front().first, lru_.begin());
  if (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return made;
}

std::size_t SchemaConstraints::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace agentrt::cluster
