#include "engine/grammar/suffix_constraint.h"

#include <string_view>

namespace agentrt::grammar {
namespace {

class SuffixState final : public sampling::ConstraintState {
 public:
  SuffixState(std::unique_ptr<sampling::ConstraintState> inner, const std::string* suffix,
              const TokenVocabulary* vocab)
      : inner_(std::move(inner)), suffix_(suffix), vocab_(vocab) {}
  SuffixState(const SuffixState& o)
      : inner_(o.inner_->clone()),
        suffix_(o.suffix_),
        vocab_(o.vocab_),
        pos_(o.pos_),
        ended_(o.ended_) {}

  void allowed(sampling::TokenMask& mask) const override {
    if (!ended_ && !inner_->complete()) return inner_->allowed(mask);
    if (ended_ || pos_ == suffix_->size()) {
      for (std::int32_t t : vocab_->end_tokens())
        mask.set(t);
      return;
    }
    // Every token whose bytes are a prefix of the rest of the suffix: a walk down the
    // vocabulary's trie along those bytes.
    const std::string_view rest = std::string_view(*suffix_).substr(pos_);
    const ByteTrie& trie = vocab_->trie();
    std::size_t node = 0;
    for (std::size_t d = 0; d < rest.size(); ++d) {
      std::size_t child = node + 1, found = 0;
      while (child < trie.end[node]) {
        if (trie.byte[child] == static_cast<std::uint8_t>(rest[d])) {
          found = child;
          break;
        }
        child = trie.end[child];
      }
      if (found == 0) return;
      node = found;
      for (std::int32_t t : trie.tokens_at(node))
        mask.set(t);
    }
  }

  bool accept(std::int32_t token) override {
    if (ended_) return false;
    if (!inner_->complete()) return inner_->accept(token);
    if (vocab_->is_end(token)) {
      if (pos_ != suffix_->size()) return false;
      ended_ = true;
      return true;
    }
    if (token < 0 || token >= vocab_->size()) return false;
    const std::string& bytes = vocab_->bytes(token);
    if (bytes.empty() || suffix_->compare(pos_, bytes.size(), bytes) != 0 ||
        pos_ + bytes.size() > suffix_->size())
      return false;
    pos_ += bytes.size();
    return true;
  }

  bool complete() const override {
    return ended_ || (inner_->complete() && pos_ == suffix_->size());
  }

  std::unique_ptr<sampling::ConstraintState> clone() const override {
    return std::make_unique<SuffixState>(*this);
  }

 private:
  std::unique_ptr<sampling::ConstraintState> inner_;
  const std::string* suffix_;
  const TokenVocabulary* vocab_;
  std::size_t pos_ = 0;  // bytes of the suffix written
  bool ended_ = false;
};

}  // namespace

SuffixConstraint::SuffixConstraint(std::shared_ptr<const sampling::Constraint> inner,
                                   std::string suffix, std::shared_ptr<const TokenVocabulary> vocab)
    : inner_(std::move(inner)), suffix_(std::move(suffix)), vocab_(std::move(vocab)) {}

std::unique_ptr<sampling::ConstraintState> SuffixConstraint::start() const {
  return std::make_unique<SuffixState>(inner_->start(), &suffix_, vocab_.get());
}

}  // namespace agentrt::grammar
