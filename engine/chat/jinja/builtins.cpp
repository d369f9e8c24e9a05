// Globals, tests, and the methods of strings and objects, as the reference defines them.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <optional>

#include "engine/chat/jinja/interpreter.h"
#include "engine/chat/jinja/lexer.h"

namespace agentrt::chat::jinja {
namespace {

using K = Value::Kind;

const Value* kwarg(const std::vector<Value>& args, const std::string& name) {
  if (args.empty() || !args.back().is(K::object) || !args.back().is_kwargs) return nullptr;
  return args.back().find(name);
}
std::size_t positional_count(const std::vector<Value>& args) {
  return !args.empty() && args.back().is(K::object) && args.back().is_kwargs ? args.size() - 1
                                                                             : args.size();
}

// str.split(sep=None, maxsplit=-1), as the reference implements it.
Value split(const std::string& s, const std::vector<Value>& args) {
  const std::size_t n = positional_count(args);
  const Value sep = n > 0 ? args[0] : Value::none();
  if (!sep.is(K::string) && !sep.is(K::none)) fail("sep argument must be a string or null");
  const Value maxsplit = n > 1 ? args[1] : Value::integer(-1);
  if (!maxsplit.is(K::integer)) fail("maxsplit argument must be a number");
  Array out;
  if (sep.is(K::none)) {
    const std::string text = js_trim(s, true, false);
    std::size_t p = 0;
    while (p < text.size()) {
      char32_t cp = 0;
      std::size_t len = decode_utf8(text, p, &cp);
      if (js_space(cp)) {
        p += len;
        continue;
      }
      std::size_t e = p;
      while (e < text.size()) {
        len = decode_utf8(text, e, &cp);
        if (js_space(cp)) break;
        e += len;
      }
      if (maxsplit.i != -1 && static_cast<std::int64_t>(out.size()) >= maxsplit.i) {
        out.push_back(Value::string(text.substr(p)));
        break;
      }
      out.push_back(Value::string(text.substr(p, e - p)));
      p = e;
    }
    return Value::array(std::move(out));
  }
  if (sep.s.empty()) fail("empty separator");
  std::vector<std::string> parts;
  std::size_t p = 0;
  while (true) {
    const std::size_t q = s.find(sep.s, p);
    if (q == std::string::npos) break;
    parts.push_back(s.substr(p, q - p));
    p = q + sep.s.size();
  }
  parts.push_back(s.substr(p));
  if (maxsplit.i != -1 && static_cast<std::int64_t>(parts.size()) > maxsplit.i) {
    const auto keep = static_cast<std::size_t>(std::max<std::int64_t>(maxsplit.i, 0));
    std::string rest;
    for (std::size_t k = keep; k < parts.size(); ++k)
      rest += (k > keep ? sep.s : "") + parts[k];
    parts.resize(keep);
    parts.push_back(rest);
  }
  for (std::string& x : parts)
    out.push_back(Value::string(std::move(x)));
  return Value::array(std::move(out));
}

Value replace(const std::string& s, const std::vector<Value>& args, const Limits& limits) {
  if (args.size() < 2) fail("replace() requires at least two arguments");
  if (!args[0].is(K::string) || !args[1].is(K::string)) fail("replace() arguments must be strings");
  Value count = Value::none();
  if (args.size() > 2) {
    if (args[2].is_kwargs) {
      const Value* c = args[2].find("count");
      count = c ? *c : Value::none();
    } else {
      count = args[2];
    }
  }
  if (!count.is(K::integer) && !count.is(K::none))
    fail("replace() count argument must be a number or null");
  std::int64_t remaining = count.is(K::integer) && count.i >= 0 ? count.i : INT64_MAX;
  if (count.is(K::integer) && count.i == 0) return Value::string(s);
  const std::string& from = args[0].s;
  const std::string& to = args[1].s;
  std::string out;
  if (from.empty()) {
    // Inserted before every code point and at the end.
    for (std::size_t p = 0; p <= s.size();) {
      if (remaining > 0) {
        out += to;
        --remaining;
      }
      if (p == s.size()) break;
      char32_t cp = 0;
      const std::size_t len = decode_utf8(s, p, &cp);
      out += s.substr(p, len);
      p += len;
      if (out.size() > limits.max_output_bytes) fail("text too long");
    }
    return Value::string(std::move(out));
  }
  std::size_t p = 0;
  while (remaining > 0) {
    const std::size_t q = s.find(from, p);
    if (q == std::string::npos) break;
    out += s.substr(p, q - p);
    out += to;
    p = q + from.size();
    --remaining;
    if (out.size() > limits.max_output_bytes) fail("text too long");
  }
  out += s.substr(p);
  return Value::string(std::move(out));
}

Value starts_or_ends(const std::string& s, const std::vector<Value>& args, bool starts) {
  const char* name = starts ? "startswith" : "endswith";
  if (args.empty()) fail(std::string(name) + "() requires at least one argument");
  auto test = [&](const std::string& p) { return starts ? s.starts_with(p) : s.ends_with(p); };
  if (args[0].is(K::string)) return Value::boolean(test(args[0].s));
  if (args[0].is(K::array)) {
    for (const Value& item : *args[0].arr) {
      if (!item.is(K::string)) fail(std::string(name) + "() tuple elements must be strings");
      if (test(item.s)) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  fail(std::string(name) + "() argument must be a string or tuple of strings");
}

Value dictsort(const Value& object, const std::vector<Value>& args) {
  const std::size_t n = positional_count(args);
  auto arg = [&](std::size_t k, const char* name, Value def) {
    if (k < n) return args[k];
    if (const Value* v = kwarg(args, name)) return *v;
    return def;
  };
  const Value case_sensitive = arg(0, "case_sensitive", Value::boolean(false));
  if (!case_sensitive.is(K::boolean)) fail("case_sensitive must be a boolean");
  const Value by = arg(1, "by", Value::string("key"));
  if (!by.is(K::string)) fail("by must be a string");
  if (by.s != "key" && by.s != "value") fail("by must be either 'key' or 'value'");
  const Value reverse = arg(2, "reverse", Value::boolean(false));
  if (!reverse.is(K::boolean)) fail("reverse must be a boolean");
  Array items;
  for (const auto& [k, v] : *object.obj)
    items.push_back(Value::array({Value::string(k), v}));
  const std::size_t index = by.s == "key" ? 0 : 1;
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    const int r = compare_values((*a.arr)[index], (*b.arr)[index], case_sensitive.b);
    return reverse.b ? r > 0 : r < 0;
  });
  return Value::array(std::move(items));
}

std::string strftime_now(const std::string& format) {
  const std::time_t now = std::time(nullptr);
  std::tm t{};
  if (localtime_r(&now, &t) == nullptr) fail("strftime_now: no local time");
  static constexpr const char* kShort[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  static constexpr const char* kLong[] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};
  auto pad2 = [](int v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  std::string out;
  for (std::size_t k = 0; k < format.size(); ++k) {
    if (format[k] != '%' || k + 1 >= format.size()) {
      out.push_back(format[k]);
      continue;
    }
    const char c = format[k + 1];
    const int mon = t.tm_mon % 12;
    switch (c) {
      case 'Y':
        out += std::to_string(t.tm_year + 1900);
        break;
      case 'm':
        out += pad2(t.tm_mon + 1);
        break;
      case 'd':
        out += pad2(t.tm_mday);
        break;
      case 'b':
        out += kShort[mon];
        break;
      case 'B':
        out += kLong[mon];
        break;
      case 'H':
        out += pad2(t.tm_hour);
        break;
      case 'M':
        out += pad2(t.tm_min);
        break;
      case '%':
        out += "%";
        break;
      default:
        out.push_back('%');
        continue;  // not a directive: keep the next character as text
    }
    ++k;
  }
  return out;
}

}  // namespace

std::int64_t js_length(const std::string& s) {
  std::int64_t n = 0;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c & 0xC0) != 0x80) n += c >= 0xF0 ? 2 : 1;
  }
  return n;
}

std::string js_trim(const std::string& s, bool start, bool end) {
  std::size_t b = 0;
  std::size_t e = s.size();
  if (start)
    while (b < e) {
      char32_t cp = 0;
      const std::size_t n = decode_utf8(s, b, &cp);
      if (!js_space(cp)) break;
      b += n;
    }
  if (end)
    while (e > b) {
      std::size_t q = e - 1;
      while (q > b && (static_cast<unsigned char>(s[q]) & 0xC0) == 0x80)
        --q;
      char32_t cp = 0;
      if (decode_utf8(s, q, &cp) != e - q || !js_space(cp)) break;
      e = q;
    }
  return s.substr(b, e - b);
}

std::string ascii_upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}
std::string ascii_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

namespace {
// JavaScript ToNumber of a string (for ==): trimmed, empty is 0, otherwise a full literal.
double js_to_number(const std::string& s) {
  const std::string t = js_trim(s, true, true);
  if (t.empty()) return 0;
  char* end = nullptr;
  const double d = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return std::nan("");
  return d;
}
double num_of(const Value& v) {
  switch (v.kind) {
    case K::boolean:
      return v.b ? 1 : 0;
    case K::integer:
      return static_cast<double>(v.i);
    case K::floating:
      return v.d;
    case K::string:
      return js_to_number(v.s);
    default:
      return std::nan("");
  }
}
}  // namespace

bool loose_equals(const Value& a, const Value& b) {
  const bool a_nullish = a.is(K::none) || a.is(K::undefined);
  const bool b_nullish = b.is(K::none) || b.is(K::undefined);
  if (a_nullish || b_nullish) return a_nullish && b_nullish;
  if (a.is(K::string) && b.is(K::string)) return a.s == b.s;
  if (a.is(K::array) || b.is(K::array) || a.is(K::object) || b.is(K::object) || a.is(K::function) ||
      b.is(K::function))
    return strict_equals(a, b);
  if (a.is(K::integer) && b.is(K::integer)) return a.i == b.i;
  return num_of(a) == num_of(b);
}

bool strict_equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is(K::integer) && b.is(K::integer)) return a.i == b.i;
    return num_of(a) == num_of(b);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::undefined:
    case K::none:
      return true;
    case K::boolean:
      return a.b == b.b;
    case K::string:
      return a.s == b.s;
    case K::array:
      return a.arr == b.arr;
    case K::object:
      return a.obj == b.obj;
    case K::function:
      return a.fn == b.fn;
    default:
      return false;
  }
}

int compare_values(const Value& a, const Value& b, bool case_sensitive) {
  if (a.is(K::none) && b.is(K::none)) return 0;
  if (a.is(K::none) || b.is(K::none))
    fail(std::string("Cannot compare ") + a.type_name() + " with " + b.type_name());
  if (a.is(K::undefined) && b.is(K::undefined)) return 0;
  if (a.is(K::undefined) || b.is(K::undefined))
    fail(std::string("Cannot compare ") + a.type_name() + " with " + b.type_name());
  const bool an = a.is_number() || a.is(K::boolean);
  const bool bn = b.is_number() || b.is(K::boolean);
  if (an && bn) {
    const double x = num_of(a);
    const double y = num_of(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (std::string(a.type_name()) != b.type_name())
    fail(std::string("Cannot compare different types: ") + a.type_name() + " and " + b.type_name());
  if (!a.is(K::string)) fail(std::string("Cannot compare type: ") + a.type_name());
  const std::string x = case_sensitive ? a.s : ascii_lower(a.s);
  const std::string y = case_sensitive ? b.s : ascii_lower(b.s);
  return x < y ? -1 : x > y ? 1 : 0;
}

bool run_test(const std::string& name, const Value& a, const Value* b, bool* known) {
  *known = true;
  if (name == "boolean") return a.is(K::boolean);
  if (name == "callable") return a.is(K::function);
  if (name == "odd" || name == "even") {
    if (!a.is(K::integer)) fail("cannot " + name + " on " + a.type_name());
    return (a.i % 2 != 0) == (name == "odd");
  }
  if (name == "false") return a.is(K::boolean) && !a.b;
  if (name == "true") return a.is(K::boolean) && a.b;
  if (name == "none") return a.is(K::none);
  if (name == "string") return a.is(K::string);
  if (name == "number") return a.is_number();
  if (name == "integer") return a.is(K::integer);
  if (name == "iterable") return (a.is(K::array) && !a.is_tuple) || a.is(K::string);
  if (name == "mapping") return a.is_mapping();
  if (name == "sequence") return a.is(K::array) || a.is_mapping() || a.is(K::string);
  if (name == "lower") return a.is(K::string) && a.s == ascii_lower(a.s);
  if (name == "upper") return a.is(K::string) && a.s == ascii_upper(a.s);
  if (name == "defined") return !a.is(K::undefined);
  if (name == "undefined") return a.is(K::undefined);
  if (name == "equalto" || name == "eq")
    return b != nullptr ? strict_equals(a, *b) : a.is(K::undefined);
  *known = false;
  return false;
}

Value builtin_member(const Value& object, const std::string& name, const Limits& limits) {
  if (object.is(K::array)) {
    if (name == "length") return Value::integer(static_cast<std::int64_t>(object.arr->size()));
    return Value::undefined();
  }
  if (object.is(K::string)) {
    const std::string s = object.s;
    if (name == "length") return Value::integer(js_length(s));
    auto method = [](auto f) {
      return Value::function([f](std::vector<Value>& args, const EnvPtr&) { return f(args); });
    };
    if (name == "upper") return method([s](auto&) { return Value::string(ascii_upper(s)); });
    if (name == "lower") return method([s](auto&) { return Value::string(ascii_lower(s)); });
    if (name == "strip")
      return method([s](auto&) { return Value::string(js_trim(s, true, true)); });
    if (name == "lstrip")
      return method([s](auto&) { return Value::string(js_trim(s, true, false)); });
    if (name == "rstrip")
      return method([s](auto&) { return Value::string(js_trim(s, false, true)); });
    if (name == "title")
      return method([s](auto&) {
        std::string out = s;
        for (std::size_t k = 0; k < out.size(); ++k)
          if (is_word_char(out[k]) && (k == 0 || !is_word_char(out[k - 1])) && out[k] >= 'a' &&
              out[k] <= 'z')
            out[k] = static_cast<char>(out[k] - 'a' + 'A');
        return Value::string(std::move(out));
      });
    if (name == "capitalize")
      return method([s](auto&) {
        std::string out = s;
        if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
        return Value::string(std::move(out));
      });
    if (name == "startswith")
      return method([s](std::vector<Value>& a) { return starts_or_ends(s, a, true); });
    if (name == "endswith")
      return method([s](std::vector<Value>& a) { return starts_or_ends(s, a, false); });
    if (name == "split") return method([s](std::vector<Value>& a) { return split(s, a); });
    if (name == "replace")
      return method([s, limits](std::vector<Value>& a) { return replace(s, a, limits); });
    return Value::undefined();
  }
  if (object.is_mapping()) {
    const Value self = object;
    auto method = [](auto f) {
      return Value::function([f](std::vector<Value>& args, const EnvPtr&) { return f(args); });
    };
    if (name == "get")
      return method([self](std::vector<Value>& a) {
        const Value key = a.empty() ? Value::undefined() : a[0];
        if (!key.is(K::string))
          fail(std::string("Object key must be a string: got ") + key.type_name());
        if (const Value* v = self.find(key.s)) return *v;
        return a.size() > 1 ? a[1] : Value::none();
      });
    if (name == "items")
      return method([self](auto&) {
        Array out;
        for (const auto& [k, v] : *self.obj)
          out.push_back(Value::array({Value::string(k), v}));
        return Value::array(std::move(out));
      });
    if (name == "keys")
      return method([self](auto&) {
        Array out;
        for (const auto& kv : *self.obj)
          out.push_back(Value::string(kv.first));
        return Value::array(std::move(out));
      });
    if (name == "values")
      return method([self](auto&) {
        Array out;
        for (const auto& kv : *self.obj)
          out.push_back(kv.second);
        return Value::array(std::move(out));
      });
    if (name == "dictsort")
      return method([self](std::vector<Value>& a) { return dictsort(self, a); });
  }
  return Value::undefined();
}

Value Interpreter::make_namespace(std::vector<Value>& args) {
  std::vector<Value> positional = args;
  std::optional<Value> kwargs;
  if (!positional.empty() && positional.back().is_kwargs) {
    kwargs = positional.back();
    positional.pop_back();
  }
  if (positional.size() > 1)
    fail("namespace expected at most 1 argument, got " + std::to_string(positional.size()));
  Value ns = Value::object();
  ns.is_namespace = true;
  if (positional.size() == 1) {
    const Value& src = positional[0];
    if (src.is(K::object) && !src.is_namespace) {
      for (const auto& [k, v] : *src.obj)
        ns.set(k, v);
    } else if (src.is(K::array)) {
      for (const Value& pair : *src.arr) {
        if (!pair.is(K::array) || pair.arr->size() != 2)
          fail("namespace expected an object or an iterable of [key, value] pairs");
        if (!(*pair.arr)[0].is(K::string)) fail("namespace keys must be strings");
        ns.set((*pair.arr)[0].s, (*pair.arr)[1]);
      }
    } else {
      fail(std::string("'") + src.type_name() + "' object is not iterable");
    }
  }
  if (kwargs)
    for (const auto& [k, v] : *kwargs->obj)
      ns.set(k, v);
  namespaces_.push_back(ns.obj);
  return ns;
}

Interpreter::~Interpreter() {
  for (const EnvPtr& e : captured_)
    e->clear();
  for (const auto& o : namespaces_)
    o->clear();
}

void install_globals(Env& env, Interpreter& interp) {
  env.set("false", Value::boolean(false));
  env.set("true", Value::boolean(true));
  env.set("none", Value::none());
  env.set("False", Value::boolean(false));
  env.set("True", Value::boolean(true));
  env.set("None", Value::none());
  Interpreter* ip = &interp;
  env.set("namespace", Value::function([ip](std::vector<Value>& args, const EnvPtr&) {
            return ip->make_namespace(args);
          }));
  env.set("raise_exception",
          Value::function([ip](std::vector<Value>& args, const EnvPtr&) -> Value {
            fail(args.empty() ? std::string() : to_js_string(args[0], ip->limits()));
          }));
  env.set("strftime_now", Value::function([](std::vector<Value>& args, const EnvPtr&) {
            if (args.empty() || !args[0].is(K::string))
              fail("strftime_now expects a format string");
            return Value::string(strftime_now(args[0].s));
          }));
  env.set("range", Value::function([ip](std::vector<Value>& args, const EnvPtr&) {
            std::vector<std::int64_t> n;
            for (const Value& a : args) {
              if (!a.is(K::integer)) fail("range() expects integers");
              n.push_back(a.i);
            }
            if (n.empty() || n.size() > 3) fail("range() expects 1 to 3 integers");
            std::int64_t start = n.size() == 1 ? 0 : n[0];
            const std::int64_t stop = n.size() == 1 ? n[0] : n[1];
            const std::int64_t step = n.size() == 3 ? n[2] : 1;
            if (step == 0) fail("range() step must not be zero");
            Array out;
            for (std::int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
              out.push_back(Value::integer(k));
              ip->check_items(out.size());
              if ((step > 0 && k > INT64_MAX - step) || (step < 0 && k < INT64_MIN - step)) break;
            }
            return Value::array(std::move(out));
          }));
}

}  // namespace agentrt::chat::jinja
