#include "engine/chat/jinja/parser.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>

#include "engine/chat/jinja/value.h"

namespace agentrt::chat::jinja {
namespace {

int height_of(const Node& n) {
  int h = 0;
  for (const Node* c : {n.a.get(), n.b.get(), n.c.get()})
    if (c != nullptr) h = std::max(h, c->height);
  for (const auto* v : {&n.list, &n.list2, &n.body, &n.alt})
    for (const NodePtr& c : *v)
      h = std::max(h, c->height);
  return h + 1;
}

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  NodePtr program() {
    NodePtr p = make(NodeKind::program, 0);
    while (cur_ < t_.size())
      p->body.push_back(any());
    return seal(std::move(p));
  }

 private:
  const std::vector<Token>& t_;
  std::size_t cur_ = 0;
  int depth_ = 0;

  struct Guard {
    explicit Guard(Parser* p) : p_(p) {
      if (++p_->depth_ > kMaxTreeHeight)
        p_->error("template nested deeper than " + std::to_string(kMaxTreeHeight) + " levels");
    }
    ~Guard() { --p_->depth_; }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    Parser* p_;
  };

  [[noreturn]] void error(const std::string& msg) const {
    const std::size_t at = cur_ < t_.size() ? t_[cur_].offset : t_.empty() ? 0 : t_.back().offset;
    throw Failure{msg, at};
  }
  const Token& peek(std::size_t k = 0) const {
    if (cur_ + k >= t_.size()) error("Unexpected end of template");
    return t_[cur_ + k];
  }
  NodePtr make(NodeKind kind, std::size_t offset) const {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->offset = offset;
    return n;
  }
  NodePtr seal(NodePtr n) const {
    n->height = height_of(*n);
    if (n->height > kMaxTreeHeight)
      throw Failure{"template nested deeper than " + std::to_string(kMaxTreeHeight) + " levels",
                    n->offset};
    return n;
  }
  NodePtr make2(NodeKind kind, std::string op, NodePtr a, NodePtr b, std::size_t offset) const {
    NodePtr n = make(kind, offset);
    n->str = std::move(op);
    n->a = std::move(a);
    n->b = std::move(b);
    return seal(std::move(n));
  }

  const Token& expect(Tok type, const std::string& msg) {
    const Token& tok = peek();
    if (tok.type != type)
      error("Parser Error: " + msg + ". " + to_string(tok.type) + " !== " + to_string(type) + ".");
    ++cur_;
    return tok;
  }
  bool is(Tok type, std::size_t k = 0) const {
    return cur_ + k < t_.size() && t_[cur_ + k].type == type;
  }
  bool is_ident(std::string_view name, std::size_t k = 0) const {
    return is(Tok::identifier, k) && t_[cur_ + k].value == name;
  }
  void expect_ident(std::string_view name) {
    if (!is_ident(name)) error("Expected " + std::string(name));
    ++cur_;
  }
  bool is_statement(std::initializer_list<std::string_view> names) const {
    if (!is(Tok::open_statement) || !is(Tok::identifier, 1)) return false;
    return std::find(names.begin(), names.end(), t_[cur_ + 1].value) != names.end();
  }
  // Statements up to one of the names (not consumed).
  Block block_until(std::initializer_list<std::string_view> names) {
    Block body;
    while (!is_statement(names)) {
      if (cur_ >= t_.size())
        error("Unexpected end of template: expected {% " + std::string(*names.begin()) + " %}");
      body.push_back(any());
    }
    return body;
  }
  void end_tag(std::string_view name) {
    expect(Tok::open_statement, "Expected {% token");
    expect_ident(name);
    expect(Tok::close_statement, "Expected %} token");
  }

  NodePtr any() {
    Guard g(this);
    const Token& tok = peek();
    switch (tok.type) {
      case Tok::comment: {
        ++cur_;
        NodePtr n = make(NodeKind::comment, tok.offset);
        return n;
      }
      case Tok::text: {
        ++cur_;
        NodePtr n = make(NodeKind::text, tok.offset);
        n->str = tok.value;
        return n;
      }
      case Tok::open_statement:
        return statement();
      case Tok::open_expression: {
        ++cur_;
        NodePtr e = expression();
        expect(Tok::close_expression, "Expected closing expression token");
        return e;
      }
      default:
        error(std::string("Unexpected token type: ") + to_string(tok.type));
    }
  }

  NodePtr statement() {
    const std::size_t at = peek().offset;
    expect(Tok::open_statement, "Expected opening statement token");
    if (peek().type != Tok::identifier)
      error(std::string("Unknown statement, got ") + to_string(peek().type));
    const std::string name = peek().value;
    ++cur_;
    NodePtr result;
    if (name == "set") {
      result = set_statement(at);
    } else if (name == "if") {
      result = if_statement(at);
      end_tag("endif");
    } else if (name == "macro") {
      result = make(NodeKind::macro, at);
      NodePtr id = primary();
      if (id->kind != NodeKind::identifier) error("Expected identifier following macro statement");
      result->str = id->str;
      result->list = args(true);
      expect(Tok::close_statement, "Expected closing statement token");
      result->body = block_until({"endmacro"});
      end_tag("endmacro");
    } else if (name == "for") {
      result = for_statement(at);
      end_tag("endfor");
    } else if (name == "call") {
      result = make(NodeKind::call_statement, at);
      if (is(Tok::open_paren)) {
        result->list = args(true);
        result->flag = true;
      }
      NodePtr callee = primary();
      if (callee->kind != NodeKind::identifier)
        error("Expected identifier following call statement");
      NodePtr call = make(NodeKind::call, callee->offset);
      call->a = std::move(callee);
      call->list = args(false);
      result->a = seal(std::move(call));
      expect(Tok::close_statement, "Expected closing statement token");
      result->body = block_until({"endcall"});
      end_tag("endcall");
    } else if (name == "break" || name == "continue") {
      expect(Tok::close_statement, "Expected closing statement token");
      result = make(name == "break" ? NodeKind::break_statement : NodeKind::continue_statement, at);
    } else if (name == "filter") {
      result = make(NodeKind::filter_statement, at);
      NodePtr f = primary();
      if (f->kind == NodeKind::identifier && is(Tok::open_paren)) f = call_expression(std::move(f));
      result->a = std::move(f);
      expect(Tok::close_statement, "Expected closing statement token");
      result->body = block_until({"endfilter"});
      end_tag("endfilter");
    } else {
      error("Unknown statement type: " + name);
    }
    return seal(std::move(result));
  }

  NodePtr set_statement(std::size_t at) {
    NodePtr n = make(NodeKind::set_statement, at);
    n->a = expression_sequence(false);
    if (is(Tok::equals)) {
      ++cur_;
      n->b = expression_sequence(false);
    } else {
      expect(Tok::close_statement, "Expected %} token");
      n->body = block_until({"endset"});
      expect(Tok::open_statement, "Expected {% token");
      expect_ident("endset");
    }
    expect(Tok::close_statement, "Expected closing statement token");
    return n;
  }

  NodePtr if_statement(std::size_t at) {
    Guard g(this);
    NodePtr n = make(NodeKind::if_statement, at);
    n->a = expression();
    expect(Tok::close_statement, "Expected closing statement token");
    n->body = block_until({"elif", "else", "endif"});
    if (is_statement({"elif"})) {
      const std::size_t elif_at = peek().offset;
      cur_ += 2;
      n->alt.push_back(if_statement(elif_at));
    } else if (is_statement({"else"})) {
      cur_ += 2;
      expect(Tok::close_statement, "Expected closing statement token");
      n->alt = block_until({"endif"});
    }
    return seal(std::move(n));
  }

  NodePtr for_statement(std::size_t at) {
    NodePtr n = make(NodeKind::for_statement, at);
    n->a = expression_sequence(true);
    if (n->a->kind != NodeKind::identifier && n->a->kind != NodeKind::tuple_literal)
      error("Expected identifier/tuple for the loop variable");
    if (!is_ident("in")) error("Expected `in` keyword following loop variable");
    ++cur_;
    n->b = expression();
    expect(Tok::close_statement, "Expected closing statement token");
    n->body = block_until({"endfor", "else"});
    if (is_statement({"else"})) {
      cur_ += 2;
      expect(Tok::close_statement, "Expected closing statement token");
      n->alt = block_until({"endfor"});
    }
    return n;
  }

  NodePtr expression_sequence(bool primary_only) {
    const std::size_t at = peek().offset;
    std::vector<NodePtr> items;
    items.push_back(primary_only ? primary() : expression());
    const bool tuple = is(Tok::comma);
    while (tuple) {
      ++cur_;
      items.push_back(primary_only ? primary() : expression());
      if (!is(Tok::comma)) break;
    }
    if (!tuple) return std::move(items[0]);
    NodePtr n = make(NodeKind::tuple_literal, at);
    n->list = std::move(items);
    return seal(std::move(n));
  }

  NodePtr expression() {
    Guard g(this);
    const std::size_t at = peek().offset;
    NodePtr a = logical_or();
    if (!is_ident("if")) return a;
    ++cur_;
    NodePtr test = logical_or();
    if (is_ident("else")) {
      ++cur_;
      NodePtr n = make(NodeKind::ternary, at);
      n->a = std::move(test);
      n->b = std::move(a);
      n->c = expression();
      return seal(std::move(n));
    }
    return make2(NodeKind::select, "", std::move(a), std::move(test), at);
  }

  NodePtr logical_or() {
    NodePtr left = logical_and();
    while (is_ident("or")) {
      const std::size_t at = peek().offset;
      ++cur_;
      left = make2(NodeKind::binary, "or", std::move(left), logical_and(), at);
    }
    return left;
  }
  NodePtr logical_and() {
    NodePtr left = logical_not();
    while (is_ident("and")) {
      const std::size_t at = peek().offset;
      ++cur_;
      left = make2(NodeKind::binary, "and", std::move(left), logical_not(), at);
    }
    return left;
  }
  NodePtr logical_not() {
    Guard g(this);
    NodePtr right;
    while (is_ident("not")) {
      const std::size_t at = peek().offset;
      ++cur_;
      right = make2(NodeKind::unary, "not", logical_not(), nullptr, at);
    }
    return right ? std::move(right) : comparison();
  }
  NodePtr comparison() {
    NodePtr left = additive();
    while (true) {
      std::string op;
      const std::size_t at = cur_ < t_.size() ? t_[cur_].offset : 0;
      if (is_ident("not") && is_ident("in", 1)) {
        op = "not in";
        cur_ += 2;
      } else if (is_ident("in")) {
        op = "in";
        ++cur_;
      } else if (is(Tok::comparison)) {
        op = t_[cur_++].value;
      } else {
        break;
      }
      left = make2(NodeKind::binary, op, std::move(left), additive(), at);
    }
    return left;
  }
  NodePtr additive() {
    NodePtr left = multiplicative();
    while (is(Tok::additive)) {
      const Token& op = t_[cur_++];
      left = make2(NodeKind::binary, op.value, std::move(left), multiplicative(), op.offset);
    }
    return left;
  }
  NodePtr multiplicative() {
    NodePtr left = power();
    while (is(Tok::multiplicative)) {
      const Token& op = t_[cur_++];
      left = make2(NodeKind::binary, op.value, std::move(left), power(), op.offset);
    }
    return left;
  }
  NodePtr power() {
    NodePtr left = test_expression();
    while (is(Tok::power)) {
      const Token& op = t_[cur_++];
      left = make2(NodeKind::binary, op.value, std::move(left), test_expression(), op.offset);
    }
    return left;
  }
  NodePtr test_expression() {
    NodePtr operand = filter_expression();
    while (is_ident("is")) {
      const std::size_t at = peek().offset;
      ++cur_;
      const bool negate = is_ident("not");
      if (negate) ++cur_;
      NodePtr name = primary();
      if (name->kind != NodeKind::identifier) error("Expected identifier for the test");
      NodePtr n = make(NodeKind::test, at);
      n->a = std::move(operand);
      n->str = name->str;
      n->flag = negate;
      operand = seal(std::move(n));
    }
    return operand;
  }
  NodePtr filter_expression() {
    NodePtr operand = unary_sign();
    while (is(Tok::pipe)) {
      const std::size_t at = peek().offset;
      ++cur_;
      NodePtr f = primary();
      if (f->kind != NodeKind::identifier) error("Expected identifier for the filter");
      if (is(Tok::open_paren)) f = call_expression(std::move(f));
      operand = make2(NodeKind::filter, "", std::move(operand), std::move(f), at);
    }
    return operand;
  }
  NodePtr unary_sign() {
    Guard g(this);
    if (cur_ < t_.size() && (is(Tok::unary) || is(Tok::additive)) &&
        (t_[cur_].value == "-" || t_[cur_].value == "+")) {
      const Token& op = t_[cur_++];
      return make2(NodeKind::unary, op.value, unary_sign(), nullptr, op.offset);
    }
    NodePtr member = member_expression(primary());
    if (is(Tok::open_paren)) return call_expression(std::move(member));
    return member;
  }
  NodePtr call_expression(NodePtr callee) {
    Guard g(this);
    NodePtr n = make(NodeKind::call, callee->offset);
    n->a = std::move(callee);
    n->list = args(false);
    NodePtr e = member_expression(seal(std::move(n)));
    if (is(Tok::open_paren)) e = call_expression(std::move(e));
    return e;
  }

  std::vector<NodePtr> args(bool parameters) {
    expect(Tok::open_paren, "Expected opening parenthesis for arguments list");
    std::vector<NodePtr> out;
    std::vector<std::string> names;
    bool saw_keyword = false;
    bool saw_spread = false;
    while (!is(Tok::close_paren)) {
      const std::size_t at = peek().offset;
      const bool kw_spread = is(Tok::power);
      const bool spread = is(Tok::multiplicative) && t_[cur_].value == "*";
      if (parameters && (kw_spread || spread))
        error("Argument unpacking is not allowed in parameter declarations");
      if (kw_spread) {
        ++cur_;
        out.push_back(make2(NodeKind::keyword_spread, "", expression(), nullptr, at));
        if (is(Tok::comma)) ++cur_;
        if (!is(Tok::close_paren))
          error("Expected closing parenthesis: `**` must be applied to the final argument");
        break;
      }
      NodePtr arg;
      if (spread) {
        if (saw_spread) error("Only one `*` argument unpacking is allowed");
        saw_spread = true;
        ++cur_;
        arg = make2(NodeKind::spread, "", expression(), nullptr, at);
      } else {
        arg = expression();
        if (is(Tok::equals)) {
          ++cur_;
          if (arg->kind != NodeKind::identifier)
            error(parameters ? "Expected identifier for parameter declaration"
                             : "Expected identifier for keyword argument");
          NodePtr kw = make(NodeKind::keyword_argument, at);
          kw->str = arg->str;
          kw->a = expression();
          arg = seal(std::move(kw));
        }
        if (parameters) {
          if (arg->kind != NodeKind::identifier && arg->kind != NodeKind::keyword_argument)
            error("Expected identifier for parameter declaration");
          if (std::find(names.begin(), names.end(), arg->str) != names.end())
            error("Duplicate parameter name: " + arg->str);
          names.push_back(arg->str);
        }
        if (arg->kind == NodeKind::keyword_argument) {
          saw_keyword = true;
        } else if (saw_keyword) {
          error(parameters ? "Non-default argument follows default argument"
                           : "Positional arguments must come before keyword arguments");
        } else if (saw_spread) {
          error("Positional arguments must not follow `*` argument unpacking");
        }
      }
      out.push_back(std::move(arg));
      if (is(Tok::comma)) ++cur_;
    }
    expect(Tok::close_paren, "Expected closing parenthesis for arguments list");
    return out;
  }

  NodePtr subscript() {
    const std::size_t at = peek().offset;
    std::vector<NodePtr> parts;
    bool is_slice = false;
    while (!is(Tok::close_square)) {
      if (is(Tok::colon)) {
        parts.push_back(nullptr);
        ++cur_;
        is_slice = true;
      } else {
        parts.push_back(expression());
        if (is(Tok::colon)) {
          ++cur_;
          is_slice = true;
        }
      }
    }
    if (parts.empty()) error("Expected at least one argument for member/slice expression");
    if (!is_slice) return std::move(parts[0]);
    if (parts.size() > 3) error("Expected 0-3 arguments for slice expression");
    NodePtr n = make(NodeKind::slice, at);
    n->a = std::move(parts[0]);
    if (parts.size() > 1) n->b = std::move(parts[1]);
    if (parts.size() > 2) n->c = std::move(parts[2]);
    return seal(std::move(n));
  }

  NodePtr member_expression(NodePtr object) {
    while (is(Tok::dot) || is(Tok::open_square)) {
      const Token& op = t_[cur_++];
      const bool computed = op.type == Tok::open_square;
      NodePtr property;
      if (computed) {
        property = subscript();
        expect(Tok::close_square, "Expected closing square bracket");
      } else {
        property = primary();
        if (property->kind != NodeKind::identifier && property->kind != NodeKind::integer_literal)
          error("Expected identifier or integer following dot operator");
      }
      NodePtr n = make2(NodeKind::member, "", std::move(object), std::move(property), op.offset);
      n->flag = computed;
      object = std::move(n);
    }
    return object;
  }

  NodePtr primary() {
    Guard g(this);
    const Token& tok = peek();
    ++cur_;
    switch (tok.type) {
      case Tok::number: {
        if (tok.value.find('.') != std::string::npos) {
          NodePtr n = make(NodeKind::float_literal, tok.offset);
          n->d = std::strtod(tok.value.c_str(), nullptr);
          return n;
        }
        NodePtr n = make(NodeKind::integer_literal, tok.offset);
        n->i = std::strtoll(tok.value.c_str(), nullptr, 10);  // saturates on overflow
        return n;
      }
      case Tok::string: {
        NodePtr n = make(NodeKind::string_literal, tok.offset);
        n->str = tok.value;
        while (is(Tok::string))
          n->str += t_[cur_++].value;
        return n;
      }
      case Tok::identifier: {
        NodePtr n = make(NodeKind::identifier, tok.offset);
        n->str = tok.value;
        return n;
      }
      case Tok::open_paren: {
        NodePtr e = expression_sequence(false);
        expect(Tok::close_paren, "Expected closing parenthesis");
        return e;
      }
      case Tok::open_square: {
        NodePtr n = make(NodeKind::array_literal, tok.offset);
        while (!is(Tok::close_square)) {
          if (cur_ >= t_.size()) error("Unexpected end of template in array literal");
          n->list.push_back(expression());
          if (is(Tok::comma)) ++cur_;
        }
        ++cur_;
        return seal(std::move(n));
      }
      case Tok::open_curly: {
        NodePtr n = make(NodeKind::object_literal, tok.offset);
        while (!is(Tok::close_curly)) {
          if (cur_ >= t_.size()) error("Unexpected end of template in object literal");
          n->list.push_back(expression());
          expect(Tok::colon, "Expected colon between key and value in object literal");
          n->list2.push_back(expression());
          if (is(Tok::comma)) ++cur_;
        }
        ++cur_;
        return seal(std::move(n));
      }
      default:
        --cur_;
        error(std::string("Unexpected token: ") + to_string(tok.type));
    }
  }
};

}  // namespace

Result<NodePtr> parse(const std::vector<Token>& tokens, std::string_view text,
                      const std::string& source) {
  try {
    Parser p(tokens);
    return p.program();
  } catch (const Failure& f) {
    return make_error(ErrorCode::parse, source + ":" + line_col(text, f.offset) + ": " + f.message);
  }
}

}  // namespace agentrt::chat::jinja
