// Template: the `{{ ... }}` text substitution of workflow prompts and outputs.
// An expression is a dotted path (`inputs.question`, `steps.solve.answer`, `item`) or a
// quoted literal, followed by filters: `{{ steps.m.output | join(", ") | upper }}`.
// Parsing checks syntax and filter names; which paths exist is the validator's business.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.h"
#include "workflows/value.h"

namespace agentrt::workflows {

struct TemplateFilter {
  std::string name;
  std::vector<std::string> args;
};

struct TemplateExpr {
  std::vector<std::string> path;       // empty when `literal` is set
  std::optional<std::string> literal;  // {{ "text" }}
  std::vector<TemplateFilter> filters;
  std::size_t offset = 0;  // of the `{{` in the template text
  std::string source;      // the whole `{{ ... }}`, for messages
  std::string dotted() const;
};

// Where one expression's value landed in a rendered template: bytes [begin, end) of its
// text (a list value: one mark per item). Literal expressions leave no mark.
struct TemplateMark {
  std::size_t begin = 0;
  std::size_t end = 0;
  int expr = 0;  // index into Template::expressions()
};

// The filters a template may use, with what each does (docs/workflows.md lists them).
const std::vector<std::string>& template_filter_names();

class Template {
 public:
  Template() = default;
  // Errors (parse): an unclosed `{{`, an empty or malformed expression, an unknown filter
  // or a wrong number of filter arguments. `error_offset`, when given, receives the byte
  // offset of the problem in `text`.
  static Result<Template> parse(std::string_view text, std::size_t* error_offset = nullptr);

  // Returns the value of a path, or nullopt when it names nothing.
  using Lookup = std::function<std::optional<Value>(const std::vector<std::string>& path)>;
  // A template that is exactly one expression yields that expression's value (which may be
  // a list); otherwise the text with every expression's value in place (lists joined by
  // newlines). Errors (not_found): a path the lookup does not know.
  Result<Value> render(const Lookup& lookup) const;
  // The same; `marks` (when not null) receives where each path expression's value lies in
  // the value's text (Value::to_text), in order.
  Result<Value> render(const Lookup& lookup, std::vector<TemplateMark>* marks) const;

  const std::vector<TemplateExpr>& expressions() const { return exprs_; }
  const std::string& text() const { return text_; }
  bool empty() const { return text_.empty(); }

 private:
  struct Piece {
    std::string literal;
    int expr = -1;  // index into exprs_, or -1 for a literal piece
  };
  std::string text_;
  std::vector<Piece> pieces_;
  std::vector<TemplateExpr> exprs_;
};

}  // namespace agentrt::workflows
