#include "workflows/template.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/common/echo.h"

namespace agentrt::workflows {
namespace {

struct FilterSig {
  int min_args;
  int max_args;
};

const std::map<std::string, FilterSig>& filter_table() {
  static const std::map<std::string, FilterSig> t = {
      {"trim", {0, 0}}, {"upper", {0, 0}},   {"lower", {0, 0}},  {"json", {0, 0}},
      {"join", {0, 1}}, {"lines", {0, 0}},   {"length", {0, 0}}, {"first", {0, 0}},
      {"last", {0, 0}}, {"default", {1, 1}}, {"indent", {1, 1}},
  };
  return t;
}

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

// Parses the inside of one `{{ ... }}`; `base` is the offset of the inside in the template.
class ExprParser {
 public:
  ExprParser(std::string_view s, std::size_t base) : s_(s), base_(base) {}

  Result<TemplateExpr> parse(std::size_t* error_offset) {
    TemplateExpr e;
    skip_ws();
    if (at_end()) return fail("empty expression", error_offset);
    if (peek() == '"' || peek() == '\'') {
      auto lit = literal(error_offset);
      if (!lit.ok()) return lit.error();
      e.literal = *lit;
    } else {
      while (true) {
        if (at_end() || !ident_start(peek())) return fail("expected a name", error_offset);
        std::string id;
        while (!at_end() && ident_char(peek()))
          id += s_[pos_++];
        e.path.push_back(id);
        if (at_end() || peek() != '.') break;
        ++pos_;
      }
    }
    skip_ws();
    while (!at_end() && peek() == '|') {
      ++pos_;
      auto f = filter(error_offset);
      if (!f.ok()) return f.error();
      e.filters.push_back(std::move(*f));
      skip_ws();
    }
    if (!at_end()) return fail(std::string("unexpected '") + peek() + "'", error_offset);
    return e;
  }

 private:
  Result<TemplateFilter> filter(std::size_t* error_offset) {
    skip_ws();
    const std::size_t at = pos_;
    TemplateFilter f;
    while (!at_end() && ident_char(peek()))
      f.name += s_[pos_++];
    if (f.name.empty()) return fail("expected a filter name after '|'", error_offset);
    skip_ws();
    if (!at_end() && peek() == '(') {
      ++pos_;
      skip_ws();
      while (!at_end() && peek() != ')') {
        if (peek() == '"' || peek() == '\'') {
          auto lit = literal(error_offset);
          if (!lit.ok()) return lit.error();
          f.args.push_back(*lit);
        } else if (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '-') {
          std::string num(1, s_[pos_++]);
          while (!at_end() && std::isdigit(static_cast<unsigned char>(peek())))
            num += s_[pos_++];
          f.args.push_back(num);
        } else {
          return fail("filter arguments are quoted strings or integers", error_offset);
        }
        skip_ws();
        if (!at_end() && peek() == ',') {
          ++pos_;
          skip_ws();
        }
      }
      if (at_end()) return fail("missing ')' after filter arguments", error_offset);
      ++pos_;
    }
    auto it = filter_table().find(f.name);
    if (it == filter_table().end()) {
      pos_ = at;
      return fail("unknown filter '" + echo_value(f.name) + "'", error_offset);
    }
    const int n = static_cast<int>(f.args.size());
    if (n < it->second.min_args || n > it->second.max_args) {
      pos_ = at;
      return fail("filter '" + f.name + "' takes " + std::to_string(it->second.min_args) +
                      (it->second.max_args != it->second.min_args
                           ? " to " + std::to_string(it->second.max_args)
                           : std::string()) +
                      " argument(s), got " + std::to_string(n),
                  error_offset);
    }
    return f;
  }

  Result<std::string> literal(std::size_t* error_offset) {
    const char quote = s_[pos_++];
    std::string out;
    while (!at_end() && peek() != quote) {
      char c = s_[pos_++];
      if (c == '\\' && !at_end()) {
        c = s_[pos_++];
        if (c == 'n') c = '\n';
        if (c == 't') c = '\t';
      }
      out += c;
    }
    if (at_end()) return fail("unterminated string literal", error_offset);
    ++pos_;
    return out;
  }

  Error fail(const std::string& message, std::size_t* error_offset) {
    if (error_offset) *error_offset = base_ + pos_;
    return make_error(ErrorCode::parse, message);
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }
  void skip_ws() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(peek())))
      ++pos_;
  }

  std::string_view s_;
  std::size_t base_;
  std::size_t pos_ = 0;
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Filters that read a value as a list check the list's caps (Value::to_items); `where`
// names the expression in their errors.
Result<Value> apply_filter(const TemplateFilter& f, const Value& v, const std::string& where) {
  auto map_text = [&](auto fn) -> Value {
    if (!v.is_list()) return fn(v.text());
    std::vector<std::string> out;
    for (const auto& s : v.list())
      out.push_back(fn(s));
    return out;
  };
  if (f.name == "trim") return map_text(trim);
  if (f.name == "upper" || f.name == "lower") {
    const bool up = f.name == "upper";
    return map_text([up](std::string s) {
      for (auto& c : s)
        c = static_cast<char>(up ? std::toupper(static_cast<unsigned char>(c))
                                 : std::tolower(static_cast<unsigned char>(c)));
      return s;
    });
  }
  if (f.name == "json") {
    nlohmann::json j = v.is_list() ? nlohmann::json(v.list()) : nlohmann::json(v.text());
    return Value(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (f.name == "join") {
    const std::string sep = f.args.empty() ? "\n" : f.args[0];
    auto items = v.to_items(where);
    if (!items.ok()) return items.error();
    std::string out;
    for (std::size_t i = 0; i < items->size(); ++i)
      out += (i ? sep : "") + (*items)[i];
    return Value(std::move(out));
  }
  if (f.name == "lines") {
    auto items = v.to_items(where);
    if (!items.ok()) return items.error();
    return Value(std::move(*items));
  }
  if (f.name == "length") {
    return Value(std::to_string(v.is_list() ? v.list().size() : v.text().size()));
  }
  if (f.name == "first" || f.name == "last") {
    auto items = v.to_items(where);
    if (!items.ok()) return items.error();
    if (items->empty()) return Value(std::string());
    return Value(f.name == "first" ? items->front() : items->back());
  }
  if (f.name == "default") {
    const bool empty = v.is_list() ? v.list().empty() : trim(v.text()).empty();
    return empty ? Value(f.args[0]) : v;
  }
  if (f.name == "indent") {
    const std::string pad(static_cast<std::size_t>(std::clamp(std::atoi(f.args[0].c_str()), 0, 64)),
                          ' ');
    std::string out;
    const std::string text = v.to_text();
    bool line_start = true;
    for (char c : text) {
      if (line_start && c != '\n') out += pad;
      out += c;
      line_start = c == '\n';
    }
    return Value(std::move(out));
  }
  return v;  // unreachable: parse() admits only known filters
}

}  // namespace

std::string TemplateExpr::dotted() const {
  if (literal) return "\"" + *literal + "\"";
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i)
    out += (i ? "." : "") + path[i];
  return out;
}

const std::vector<std::string>& template_filter_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& [name, sig] : filter_table())
      n.push_back(name);
    return n;
  }();
  return names;
}

Result<Template> Template::parse(std::string_view text, std::size_t* error_offset) {
  Template t;
  t.text_ = std::string(text);
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.pieces_.push_back({std::string(text.substr(pos)), -1});
      break;
    }
    if (open > pos) t.pieces_.push_back({std::string(text.substr(pos, open - pos)), -1});
    const auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      if (error_offset) *error_offset = open;
      return make_error(ErrorCode::parse, "unclosed '{{' (no matching '}}')");
    }
    ExprParser p(text.substr(open + 2, close - open - 2), open + 2);
    auto e = p.parse(error_offset);
    if (!e.ok()) return e.error();
    e->offset = open;
    e->source = std::string(text.substr(open, close + 2 - open));
    t.pieces_.push_back({"", static_cast<int>(t.exprs_.size())});
    t.exprs_.push_back(std::move(*e));
    pos = close + 2;
  }
  return t;
}

Result<Value> Template::render(const Lookup& lookup) const {
  return render(lookup, nullptr);
}

namespace {

// Marks for `v` placed at byte `at` of the rendered text: each item of a list (to_text
// joins them with newlines), or the whole text.
void mark_value(const Value& v, std::size_t at, int expr, std::vector<TemplateMark>& marks) {
  if (!v.is_list()) {
    if (!v.text().empty()) marks.push_back({at, at + v.text().size(), expr});
    return;
  }
  for (const auto& item : v.list()) {
    if (!item.empty()) marks.push_back({at, at + item.size(), expr});
    at += item.size() + 1;
  }
}

}  // namespace

Result<Value> Template::render(const Lookup& lookup, std::vector<TemplateMark>* marks) const {
  std::vector<Value> values;
  for (const auto& e : exprs_) {
    Value v;
    if (e.literal) {
      v = *e.literal;
    } else {
      auto found = lookup(e.path);
      if (!found) return make_error(ErrorCode::not_found, echo_value(e.source) + " names nothing");
      v = std::move(*found);
    }
    for (const auto& f : e.filters) {
      auto next = apply_filter(f, v, echo_value(e.source));
      if (!next.ok()) return next.error();
      v = std::move(*next);
    }
    values.push_back(std::move(v));
  }
  auto mark = [&](int expr, std::size_t at) {
    if (marks && !exprs_[static_cast<std::size_t>(expr)].literal)
      mark_value(values[static_cast<std::size_t>(expr)], at, expr, *marks);
  };
  if (pieces_.size() == 1 && pieces_[0].expr >= 0) {
    mark(pieces_[0].expr, 0);
    return values[0];
  }
  std::string out;
  for (const auto& p : pieces_) {
    if (p.expr < 0) {
      out += p.literal;
      continue;
    }
    mark(p.expr, out.size());
    out += values[static_cast<std::size_t>(p.expr)].to_text();
  }
  return Value(std::move(out));
}

}  // namespace agentrt::workflows
