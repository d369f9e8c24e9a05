// Condition: the small expression language of a step's `when:` (docs/workflows.md,
// "Conditions"). Operands are paths with template filters (`steps.classify.answer | lower`),
// quoted strings, numbers, true/false and lists of literals (`["a", "b"]`); operators are
// == != < <= > >= (numbers compare as numbers, text as trimmed text), `in`, `not in` and
// `contains` (an item of a list, or a substring of text), `not`, `and`, `or` and
// parentheses. Parsing checks syntax and filters; which paths exist is the validator's.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.h"
#include "workflows/diagnostic.h"
#include "workflows/template.h"
#include "workflows/value.h"

namespace agentrt::workflows {

// Parentheses and `not` nest at most this deep; a condition is at most kMaxConditionBytes.
inline constexpr int kMaxConditionDepth = 64;
inline constexpr std::size_t kMaxConditionBytes = 4096;

// How a value reads as a condition: false when it is an empty list, or text that is empty
// after trimming, a number equal to 0, or (any case) false, no, off, none or null.
bool truthy(const Value& v);

class Condition {
 public:
  Condition() = default;
  // Errors (parse): bad syntax, an unknown filter, nesting past kMaxConditionDepth, text
  // over kMaxConditionBytes. `error_offset`, when given, receives the byte offset of the
  // problem in `text`. A condition written as one `{{ ... }}` is read without the braces.
  static Result<Condition> parse(std::string_view text, std::size_t* error_offset = nullptr);

  // Whether the condition holds. Errors (invalid_argument): a path the lookup does not
  // know, an ordering comparison (< <= > >=) of values that are not both numbers, a filter
  // error (a list past its caps).
  Result<bool> evaluate(const Template::Lookup& lookup) const;

  // Every path operand, with its filters; `offset` is its byte offset in text(), `source`
  // its text. Literal operands are not listed.
  const std::vector<TemplateExpr>& references() const { return refs_; }
  const std::string& text() const { return text_; }

  struct Node {
    enum class Kind { literal, list, path, negate, all, any, compare } kind = Kind::literal;
    std::string op;          // compare: == != < <= > >= in "not in" contains
    Value value;             // literal, list
    bool boolean = false;    // literal: true / false (not text)
    int ref = -1;            // path: index into refs_ (and paths_)
    std::vector<int> kids;   // negate: 1; all / any: 2 or more; compare: 2
    std::size_t offset = 0;  // in text()
  };

 private:
  friend class ConditionParser;
  std::string text_;
  std::vector<Node> nodes_;  // nodes_[root_] is the whole condition
  int root_ = -1;
  std::vector<TemplateExpr> refs_;
  std::vector<Template> paths_;  // per ref: "{{ path | filters }}", rendered to evaluate it
};

// A step's `when:` and where it was written; loc_of places a byte of the condition.
struct ConditionText {
  Condition cond;
  SourceLoc loc;
  int verbatim_shift = -1;  // as TemplateText::verbatim_shift
  SourceLoc loc_of(std::size_t offset) const;
};

}  // namespace agentrt::workflows
