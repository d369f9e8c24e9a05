// JsonSchemaConstraint: sampling::Constraint that keeps a sequence's output a prefix of
// compact JSON valid for a schema (schema_compiler.h lists the subset), over one
// tokenizer's vocabulary. Put it in SamplingParams::constraint; host sampling only.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/common/result.h"
#include "engine/grammar/schema_compiler.h"
#include "engine/grammar/token_vocabulary.h"
#include "engine/sampling/constraint.h"

namespace agentrt::grammar {

class JsonSchemaConstraint final : public sampling::Constraint {
 public:
  // `schema_text`: the compact JSON text `grammar` was compiled from, or "" when unknown
  // (a constraint without it cannot be sent to another node, cluster/engine_wire.h).
  JsonSchemaConstraint(std::shared_ptr<const SchemaGrammar> grammar,
                       std::shared_ptr<const TokenVocabulary> vocab, std::string schema_text = {});

  // Compiles `schema`; errors are compile_schema's. Keeps the schema's compact text.
  static Result<std::shared_ptr<const JsonSchemaConstraint>> make(
      const nlohmann::ordered_json& schema, std::shared_ptr<const TokenVocabulary> vocab,
      const CompileLimits& limits = {});

  std::unique_ptr<sampling::ConstraintState> start() const override;
  std::span<const std::int32_t> end_tokens() const override { return vocab_->end_tokens(); }

  const SchemaGrammar& grammar() const { return *grammar_; }
  const TokenVocabulary& vocabulary() const { return *vocab_; }
  // The compact JSON text of the schema, "" when the constructor was not given it.
  const std::string& schema_text() const { return schema_text_; }

 private:
  std::shared_ptr<const SchemaGrammar> grammar_;
  std::shared_ptr<const TokenVocabulary> vocab_;
  std::string schema_text_;
};

}  // namespace agentrt::grammar
