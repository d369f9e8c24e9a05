#include "engine/grammar/json_schema_constraint.h"

#include "engine/grammar/matcher.h"
#include "engine/grammar/token_masker.h"

namespace agentrt::grammar {
namespace {

class JsonSchemaState final : public sampling::ConstraintState {
 public:
  JsonSchemaState(std::shared_ptr<const SchemaGrammar> grammar,
                  std::shared_ptr<const TokenVocabulary> vocab)
      : grammar_(std::move(grammar)), vocab_(std::move(vocab)), match_(*grammar_) {}

  void allowed(sampling::TokenMask& mask) const override {
    if (ended_) {
      for (std::int32_t t : vocab_->end_tokens())
        mask.set(t);
      return;
    }
    fill_token_mask(*vocab_, match_, mask);
  }

  bool accept(std::int32_t token) override {
    if (vocab_->is_end(token)) {
      if (!ended_ && !match_.complete()) return false;
      ended_ = true;
      return true;
    }
    if (ended_ || token < 0 || token >= vocab_->size()) return false;
    const std::string& bytes = vocab_->bytes(token);
    if (bytes.empty()) return false;
    MatchState next;
    next.copy_from(match_);
    if (!next.advance(bytes)) return false;
    match_.copy_from(next);
    return true;
  }

  bool complete() const override { return ended_ || match_.complete(); }

  std::unique_ptr<sampling::ConstraintState> clone() const override {
    return std::make_unique<JsonSchemaState>(*this);
  }

 private:
  std::shared_ptr<const SchemaGrammar> grammar_;
  std::shared_ptr<const TokenVocabulary> vocab_;
  MatchState match_;
  bool ended_ = false;
};

}  // namespace

JsonSchemaConstraint::JsonSchemaConstraint(std::shared_ptr<const SchemaGrammar> grammar,
                                           std::shared_ptr<const TokenVocabulary> vocab,
                                           std::string schema_text)
    : grammar_(std::move(grammar)),
      vocab_(std::move(vocab)),
      schema_text_(std::move(schema_text)) {}

Result<std::shared_ptr<const JsonSchemaConstraint>> JsonSchemaConstraint::make(
    const nlohmann::ordered_json& schema, std::shared_ptr<const TokenVocabulary> vocab,
    const CompileLimits& limits) {
  auto grammar = compile_schema(schema, limits);
  if (!grammar.ok()) return grammar.error();
  return std::make_shared<const JsonSchemaConstraint>(
      std::move(*grammar), std::move(vocab),
      schema.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

std::unique_ptr<sampling::ConstraintState> JsonSchemaConstraint::start() const {
  return std::make_unique<JsonSchemaState>(grammar_, vocab_);
}

}  // namespace agentrt::grammar
