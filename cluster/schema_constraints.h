// SchemaConstraints: a worker node's compiled structured-output constraints, by schema text.
// A request that crosses the wire (engine_wire.h) carries its constraint as the compact JSON
// text of its schema; the node compiles it over its own token vocabulary once and shares the
// constraint between the requests that name the same text (an agent's every turn does).
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "engine/common/result.h"
#include "engine/grammar/token_vocabulary.h"
#include "engine/sampling/constraint.h"

namespace agentrt::cluster {

inline constexpr std::size_t kDefaultSchemaConstraints = 64;

class SchemaConstraints {
 public:
  // `vocab` may be null (a node without a tokenizer): every get() is then unsupported.
  // Holds at most `capacity` (>= 1) compiled schemas, dropping the least recently used.
  explicit SchemaConstraints(std::shared_ptr<const grammar::TokenVocabulary> vocab,
                             std::size_t capacity = kDefaultSchemaConstraints);

  // The grammar::JsonSchemaConstraint of `schema_text` (JSON text of a schema), compiled on
  // first use. Errors: compile_schema_text's (parse, invalid_argument, unsupported), or
  // unsupported without a vocabulary. Thread-safe; compiles outside the lock.
  Result<std::shared_ptr<const sampling::Constraint>> get(std::string_view schema_text) const;

  // Schemas held now.
  std::size_t size() const;

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const sampling::Constraint>>;
  std::shared_ptr<const grammar::TokenVocabulary> vocab_;
  std::size_t capacity_;
  mutable std::mutex mu_;
  mutable std::list<Entry> lru_;  // most recently used first
  mutable std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;
};

}  // namespace agentrt::cluster
