#include "workflows/condition.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "engine/common/echo.h"

namespace agentrt::workflows {
namespace {

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Text that is a decimal number (after trimming): digits, sign, point, exponent.
std::optional<double> number_of(const std::string& text) {
  const std::string t = trim(text);
  if (t.empty() || t.size() > 64) return std::nullopt;
  for (char c : t)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '+' && c != '.' &&
        c != 'e' && c != 'E')
      return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// A value during evaluation: a workflow value, or a boolean (a comparison's result, or
// the literal true / false).
struct CVal {
  Value v;
  bool is_bool = false;
  bool b = false;
};

bool truth(const CVal& c) {
  return c.is_bool ? c.b : truthy(c.v);
}

std::string shown(const CVal& c) {
  if (c.is_bool) return c.b ? "true" : "false";
  return "'" + echo_value(c.v.to_text(), 40) + "'";
}

bool text_equal(const std::string& a, const std::string& b) {
  const auto x = number_of(a), y = number_of(b);
  if (x && y) return *x == *y;
  return trim(a) == trim(b);
}

bool equal(const CVal& a, const CVal& b) {
  if (a.is_bool || b.is_bool) return truth(a) == truth(b);
  if (a.v.is_list() && b.v.is_list()) {
    const auto &x = a.v.list(), &y = b.v.list();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!text_equal(x[i], y[i])) return false;
    return true;
  }
  return text_equal(a.v.to_text(), b.v.to_text());
}

// `needle in haystack`: an item of a list, or a substring of (trimmed) text.
Result<bool> member(const CVal& needle, const CVal& haystack) {
  if (needle.is_bool || haystack.is_bool || needle.v.is_list())
    return make_error(ErrorCode::invalid_argument,
                      "'in' needs text or a number in a list or text, got " + shown(needle) +
                          " in " + shown(haystack));
  if (haystack.v.is_list()) {
    for (const auto& item : haystack.v.list())
      if (text_equal(needle.v.text(), item)) return true;
    return false;
  }
  return haystack.v.text().find(trim(needle.v.text())) != std::string::npos;
}

}  // namespace

bool truthy(const Value& v) {
  if (v.is_list()) return !v.list().empty();
  const std::string t = lower(trim(v.text()));
  if (t.empty() || t == "false" || t == "no" || t == "off" || t == "none" || t == "null")
    return false;
  const auto n = number_of(t);
  return !(n && *n == 0);
}

SourceLoc ConditionText::loc_of(std::size_t offset) const {
  if (verbatim_shift < 0 || !loc.known()) return loc;
  if (cond.text().find('\n') != std::string::npos) return loc;
  return {loc.line, loc.col + verbatim_shift + static_cast<int>(offset)};
}

class ConditionParser {
 public:
  ConditionParser(std::string_view s, std::size_t base, Condition& c) : s_(s), base_(base), c_(c) {}

  Result<int> parse_all() {
    auto root = parse_or();
    if (!root.ok()) return root;
    skip_ws();
    if (!at_end()) {
      if (peek() == ')') return fail("unmatched ')'");
      return fail("unexpected '" + echo_value(std::string(s_.substr(pos_, 12))) +
                  "' (combine conditions with and / or)");
    }
    return root;
  }

  std::size_t error_at() const { return base_ + pos_; }

 private:
  using Kind = Condition::Node::Kind;

  Result<int> parse_or() { return parse_chain("or", Kind::any); }
  Result<int> parse_and() { return parse_chain("and", Kind::all); }

  Result<int> parse_chain(std::string_view word, Kind kind) {
    const std::size_t at = here();
    auto first = kind == Kind::any ? parse_and() : parse_not();
    if (!first.ok()) return first;
    std::vector<int> kids{*first};
    while (keyword(word)) {
      auto next = kind == Kind::any ? parse_and() : parse_not();
      if (!next.ok()) return next;
      kids.push_back(*next);
    }
    if (kids.size() == 1) return kids[0];
    Condition::Node n;
    n.kind = kind;
    n.kids = std::move(kids);
    n.offset = at;
    return add(std::move(n));
  }

  Result<int> parse_not() {
    skip_ws();
    const std::size_t at = here();
    if (keyword("not")) {
      if (++depth_ > kMaxConditionDepth) return fail("nested too deep");
      auto inner = parse_not();
      --depth_;
      if (!inner.ok()) return inner;
      Condition::Node n;
      n.kind = Kind::negate;
      n.kids = {*inner};
      n.offset = at;
      return add(std::move(n));
    }
    return parse_compare();
  }

  Result<int> parse_compare() {
    auto left = parse_operand();
    if (!left.ok()) return left;
    skip_ws();
    const std::size_t at = here();
    std::string op;
    for (const char* o : {"==", "!=", "<=", ">=", "<", ">"})
      if (s_.substr(pos_).starts_with(o)) {
        op = o;
        pos_ += op.size();
        break;
      }
    if (op.empty()) {
      const std::size_t save = pos_;
      if (keyword("in")) {
        op = "in";
      } else if (keyword("contains")) {
        op = "contains";
      } else if (keyword("not")) {
        if (!keyword("in")) {
          pos_ = save;
          return fail("expected 'in' after 'not' here ('not x' goes before a value)");
        }
        op = "not in";
      }
    }
    if (op.empty()) return left;
    auto right = parse_operand();
    if (!right.ok()) return right;
    Condition::Node n;
    n.kind = Kind::compare;
    n.op = op;
    n.kids = {*left, *right};
    n.offset = at;
    return add(std::move(n));
  }

  Result<int> parse_operand() {
    skip_ws();
    if (at_end()) return fail("expected a value (a path such as steps.ID.output, or a literal)");
    const std::size_t at = here();
    const char c = peek();
    if (c == '(') {
      if (++depth_ > kMaxConditionDepth) return fail("nested too deep");
      ++pos_;
      auto inner = parse_or();
      if (!inner.ok()) return inner;
      skip_ws();
      if (at_end() || peek() != ')') return fail("missing ')'");
      ++pos_;
      --depth_;
      return inner;
    }
    if (c == '[') return parse_list();
    if (c == '"' || c == '\'' || c == '-' || c == '+' || c == '.' ||
        std::isdigit(static_cast<unsigned char>(c))) {
      auto lit = literal();
      if (!lit.ok()) return lit.error();
      Condition::Node n;
      n.kind = Kind::literal;
      n.value = *lit;
      n.offset = at;
      return add(std::move(n));
    }
    if (!ident_start(c))
      return fail("expected a value (a path such as steps.ID.output, or a literal), got '" +
                  echo_value(std::string(1, c)) + "'");
    const std::string word = ident();
    const bool dotted = !at_end() && peek() == '.';
    if (!dotted && (word == "true" || word == "false")) {
      Condition::Node n;
      n.kind = Kind::literal;
      n.boolean = true;
      n.value = Value(word);
      n.offset = at;
      return add(std::move(n));
    }
    if (!dotted &&
        (word == "and" || word == "or" || word == "not" || word == "in" || word == "contains")) {
      pos_ = at - base_;
      return fail("expected a value before '" + word + "'");
    }
    return parse_path(at);
  }

  // A path and its filters, parsed as the template "{{ path | filters }}".
  Result<int> parse_path(std::size_t at) {
    const std::size_t start = at - base_;
    while (!at_end() && peek() == '.') {
      ++pos_;
      if (at_end() || !ident_start(peek())) return fail("expected a name after '.'");
      ident();
    }
    for (;;) {
      const std::size_t save = pos_;
      skip_ws();
      if (at_end() || peek() != '|') {
        pos_ = save;
        break;
      }
      ++pos_;
      skip_ws();
      if (at_end() || !ident_start(peek())) return fail("expected a filter name after '|'");
      ident();
      const std::size_t before_args = pos_;
      skip_ws();
      if (at_end() || peek() != '(') {
        pos_ = before_args;
        continue;
      }
      while (!at_end() && peek() != ')') {  // arguments: quoted strings or integers
        if (peek() == '"' || peek() == '\'') {
          auto lit = literal();
          if (!lit.ok()) return lit.error();
        } else {
          ++pos_;
        }
      }
      if (at_end()) return fail("missing ')' after filter arguments");
      ++pos_;
    }
    const std::string span(s_.substr(start, pos_ - start));
    std::size_t off = 0;
    auto t = Template::parse("{{ " + span + " }}", &off);
    if (!t.ok()) {
      pos_ = start + (off >= 3 ? std::min(off - 3, span.size()) : 0);
      return fail(t.error().message);
    }
    TemplateExpr e = t->expressions().at(0);
    e.offset = at;
    e.source = span;
    c_.refs_.push_back(std::move(e));
    c_.paths_.push_back(std::move(*t));
    Condition::Node n;
    n.kind = Kind::path;
    n.ref = static_cast<int>(c_.refs_.size()) - 1;
    n.offset = at;
    return add(std::move(n));
  }

  Result<int> parse_list() {
    const std::size_t at = here();
    ++pos_;  // [
    std::vector<std::string> items;
    skip_ws();
    while (!at_end() && peek() != ']') {
      auto lit = literal();
      if (!lit.ok()) return lit.error();
      items.push_back(*lit);
      skip_ws();
      if (!at_end() && peek() == ',') {
        ++pos_;
        skip_ws();
      } else if (!at_end() && peek() != ']') {
        return fail("expected ',' or ']' in a list");
      }
    }
    if (at_end()) return fail("missing ']'");
    ++pos_;
    Condition::Node n;
    n.kind = Kind::list;
    n.value = Value(std::move(items));
    n.offset = at;
    return add(std::move(n));
  }

  // A quoted string ('...' or "...", with \n \t \\ \" \' escapes) or a number.
  Result<std::string> literal() {
    skip_ws();
    if (at_end()) return fail("expected a literal");
    const char q = peek();
    if (q == '"' || q == '\'') {
      ++pos_;
      std::string out;
      while (!at_end() && peek() != q) {
        char c = s_[pos_++];
        if (c == '\\' && !at_end()) {
          c = s_[pos_++];
          if (c == 'n') c = '\n';
          if (c == 't') c = '\t';
        }
        out += c;
      }
      if (at_end()) return fail("unterminated string literal");
      ++pos_;
      return out;
    }
    const std::size_t start = pos_;
    if (peek() == '-' || peek() == '+') ++pos_;
    bool digits = false;
    while (!at_end() && (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '.')) {
      digits = digits || peek() != '.';
      ++pos_;
    }
    const std::string text(s_.substr(start, pos_ - start));
    if (!digits || !number_of(text)) {
      pos_ = start;
      return fail("expected a quoted string or a number");
    }
    return text;
  }

  std::string ident() {
    std::string out;
    while (!at_end() && ident_char(peek()))
      out += s_[pos_++];
    return out;
  }

  // Consumes `word` when it stands alone here (not the start of a longer name).
  bool keyword(std::string_view word) {
    const std::size_t save = pos_;
    skip_ws();
    if (s_.substr(pos_).starts_with(word) &&
        (pos_ + word.size() == s_.size() || !ident_char(s_[pos_ + word.size()])) &&
        (pos_ + word.size() == s_.size() || s_[pos_ + word.size()] != '.')) {
      pos_ += word.size();
      return true;
    }
    pos_ = save;
    return false;
  }

  int add(Condition::Node n) {
    c_.nodes_.push_back(std::move(n));
    return static_cast<int>(c_.nodes_.size()) - 1;
  }
  Error fail(const std::string& message) { return make_error(ErrorCode::parse, message); }
  std::size_t here() {
    skip_ws();
    return base_ + pos_;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }
  void skip_ws() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(peek())))
      ++pos_;
  }

  std::string_view s_;
  std::size_t base_;
  Condition& c_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

Result<Condition> Condition::parse(std::string_view text, std::size_t* error_offset) {
  Condition c;
  c.text_ = std::string(text);
  if (text.size() > kMaxConditionBytes) {
    if (error_offset) *error_offset = 0;
    return make_error(ErrorCode::parse, "a condition may have at most " +
                                            std::to_string(kMaxConditionBytes) + " bytes");
  }
  // "{{ cond }}" as a whole: the braces are optional.
  std::size_t base = 0;
  std::string_view body = text;
  const auto b = text.find_first_not_of(" \t\r\n");
  const auto e = text.find_last_not_of(" \t\r\n");
  if (b != std::string_view::npos && e > b + 3 && text.substr(b, 2) == "{{" &&
      text.substr(e - 1, 2) == "}}" &&
      text.substr(b + 2, e - 1 - b - 2).find("}}") == std::string_view::npos) {
    base = b + 2;
    body = text.substr(base, e - 1 - base);
  }
  if (trim(body).empty()) {
    if (error_offset) *error_offset = 0;
    return make_error(ErrorCode::parse, "the condition is empty");
  }
  ConditionParser p(body, base, c);
  auto root = p.parse_all();
  if (!root.ok()) {
    if (error_offset) *error_offset = std::min(p.error_at(), text.size());
    return root.error();
  }
  c.root_ = *root;
  return c;
}

namespace {

struct Evaluator {
  const std::vector<Condition::Node>& nodes;
  const std::vector<TemplateExpr>& refs;
  const std::vector<Template>& paths;
  const Template::Lookup& lookup;

  Result<CVal> eval(int i) const {
    const auto& n = nodes[static_cast<std::size_t>(i)];
    using Kind = Condition::Node::Kind;
    switch (n.kind) {
      case Kind::literal:
        return CVal{n.value, n.boolean, n.boolean && n.value.text() == "true"};
      case Kind::list:
        return CVal{n.value, false, false};
      case Kind::path: {
        auto v = paths[static_cast<std::size_t>(n.ref)].render(lookup);
        if (!v.ok())
          return make_error(
              ErrorCode::invalid_argument,
              echo_value(refs[static_cast<std::size_t>(n.ref)].source) + ": " + v.error().message);
        return CVal{std::move(*v), false, false};
      }
      case Kind::negate: {
        auto x = eval(n.kids[0]);
        if (!x.ok()) return x;
        return CVal{{}, true, !truth(*x)};
      }
      case Kind::all:
      case Kind::any: {
        const bool any = n.kind == Kind::any;
        for (int k : n.kids) {
          auto x = eval(k);
          if (!x.ok()) return x;
          if (truth(*x) == any) return CVal{{}, true, any};  // short-circuit
        }
        return CVal{{}, true, !any};
      }
      case Kind::compare:
        return compare(n);
    }
    return make_error(ErrorCode::internal, "condition: unknown node");
  }

  Result<CVal> compare(const Condition::Node& n) const {
    auto a = eval(n.kids[0]);
    if (!a.ok()) return a;
    auto b = eval(n.kids[1]);
    if (!b.ok()) return b;
    auto yes = [](bool v) { return CVal{{}, true, v}; };
    if (n.op == "==") return yes(equal(*a, *b));
    if (n.op == "!=") return yes(!equal(*a, *b));
    if (n.op == "in" || n.op == "not in" || n.op == "contains") {
      auto m = n.op == "contains" ? member(*b, *a) : member(*a, *b);
      if (!m.ok()) return m.error();
      return yes(n.op == "not in" ? !*m : *m);
    }
    // < <= > >=: numbers only.
    std::optional<double> x, y;
    if (!a->is_bool && !a->v.is_list()) x = number_of(a->v.text());
    if (!b->is_bool && !b->v.is_list()) y = number_of(b->v.text());
    if (!x || !y)
      return make_error(ErrorCode::invalid_argument, "'" + n.op + "' compares numbers: " +
                                                         shown(x ? *b : *a) + " is not a number");
    if (n.op == "<") return yes(*x < *y);
    if (n.op == "<=") return yes(*x <= *y);
    if (n.op == ">") return yes(*x > *y);
    return yes(*x >= *y);
  }
};

}  // namespace

Result<bool> Condition::evaluate(const Template::Lookup& lookup) const {
  if (root_ < 0) return make_error(ErrorCode::invalid_argument, "the condition is empty");
  auto v = Evaluator{nodes_, refs_, paths_, lookup}.eval(root_);
  if (!v.ok()) return v.error();
  return truth(*v);
}

}  // namespace agentrt::workflows
