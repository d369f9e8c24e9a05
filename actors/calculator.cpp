// Calculator: tokenizer and recursive-descent parser (see calculator.h).
#include "actors/calculator.h"

#include <vector>

namespace agentrt::actors {
namespace {

constexpr std::int64_t kLimit = 1'000'000'000'000'000;  // 10^15
constexpr int kMaxDepth = 200;

struct Token {
  char op = 0;             // + - * / ( ), or 0 for a literal
  std::int64_t value = 0;  // literal
  bool too_large = false;
};

Error err(const char* what) {
  return make_error(ErrorCode::invalid_argument, what);
}

Result<std::vector<Token>> tokenize(std::string_view s) {
  std::vector<Token> out;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      ++i;
    } else if (c >= '0' && c <= '9') {
      Token t;
      for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        if (!t.too_large) t.value = t.value * 10 + (s[i] - '0');
        if (t.value >= kLimit) t.too_large = true;
      }
      out.push_back(t);
    } else if (c == '+' || c == '-' || c == '*' || c == '/' || c == '(' || c == ')') {
      out.push_back({c, 0, false});
      ++i;
    } else {
      return err("invalid expression");
    }
  }
  return out;
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& t) : t_(t) {}

  Result<std::int64_t> expr(int depth) {
    auto v = term(depth);
    if (!v.ok()) return v;
    while (peek('+') || peek('-')) {
      const char op = t_[i_++].op;
      auto r = term(depth);
      if (!r.ok()) return r;
      auto c = check(op == '+' ? *v + *r : *v - *r);
      if (!c.ok()) return c;
      v = *c;
    }
    return v;
  }
  bool at_end() const { return i_ == t_.size(); }

 private:
  bool peek(char op) const { return i_ < t_.size() && t_[i_].op == op; }
  static Result<std::int64_t> check(std::int64_t v) {
    if (v >= kLimit || -v >= kLimit) return err("number too large");
    return v;
  }

  Result<std::int64_t> term(int depth) {
    auto v = unary(depth);
    if (!v.ok()) return v;
    while (peek('*') || peek('/')) {
      const char op = t_[i_++].op;
      auto r = unary(depth);
      if (!r.ok()) return r;
      if (op == '*') {
        std::int64_t prod = 0;
        if (__builtin_mul_overflow(*v, *r, &prod)) return err("number too large");
        auto c = check(prod);
        if (!c.ok()) return c;
        v = *c;
        continue;
      }
      if (*r == 0) return err("division by zero");
      if (*v % *r != 0) return err("inexact division");
      auto c = check(*v / *r);
      if (!c.ok()) return c;
      v = *c;
    }
    return v;
  }

  Result<std::int64_t> unary(int depth) {
    if (depth > kMaxDepth) return err("invalid expression");
    if (peek('-')) {
      ++i_;
      auto v = unary(depth + 1);
      if (!v.ok()) return v;
      return check(-*v);
    }
    return atom(depth);
  }

  Result<std::int64_t> atom(int depth) {
    if (i_ >= t_.size()) return err("invalid expression");
    const Token& t = t_[i_++];
    if (t.op == 0) {
      if (t.too_large) return err("number too large");
      return t.value;
    }
    if (t.op == '(') {
      auto v = expr(depth + 1);
      if (!v.ok()) return v;
      if (!peek(')')) return err("invalid expression");
      ++i_;
      return v;
    }
    return err("invalid expression");
  }

  const std::vector<Token>& t_;
  std::size_t i_ = 0;
};

}  // namespace

Result<std::int64_t> evaluate_expression(std::string_view text) {
  auto toks = tokenize(text);
  if (!toks.ok()) return toks.error();
  if (toks->empty()) return err("invalid expression");
  Parser p(*toks);
  auto v = p.expr(0);
  if (!v.ok()) return v.error();
  if (!p.at_end()) return err("invalid expression");
  return *v;
}

}  // namespace agentrt::actors
