#include "engine/chat/python_json.h"

#include <cmath>
#include <cstdio>
#include <vector>

namespace agentrt::chat {
namespace {

void write_string(const std::string& s, std::string& out) {
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

// Python's float repr: shortest round-trip digits, "1.0" for integral values, "1e+20" style.
void write_float(double d, std::string& out) {
  if (std::isnan(d)) {
    out += "NaN";
    return;
  }
  if (std::isinf(d)) {
    out += d > 0 ? "Infinity" : "-Infinity";
    return;
  }
  std::string s = Json(d).dump();  // nlohmann: shortest round-trip, e.g. "1e+20", "0.1", "1.0"
  // nlohmann writes exponents like Python ("1e+20", "1e-07"); both keep ".0" for integral values.
  out += s;
}

// A scalar, or an empty container as "[]" / "{}".
void write_leaf(const Json& v, std::string& out) {
  switch (v.type()) {
    case Json::value_t::null:
      out += "null";
      break;
    case Json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      break;
    case Json::value_t::number_integer:
      out += std::to_string(v.get<std::int64_t>());
      break;
    case Json::value_t::number_unsigned:
      out += std::to_string(v.get<std::uint64_t>());
      break;
    case Json::value_t::number_float:
      write_float(v.get<double>(), out);
      break;
    case Json::value_t::string:
      write_string(v.get_ref<const std::string&>(), out);
      break;
    case Json::value_t::array:
      out += "[]";
      break;
    case Json::value_t::object:
      out += "{}";
      break;
    default:
      out += "null";  // binary/discarded values do not occur in parsed JSON
  }
}

// Iterative, so a value of any depth is written without growing the call stack.
// indent < 0: json.dumps(v) (", " and ": " separators on one line); indent >= 0:
// json.dumps(v, indent=indent) (items on their own lines, "," and ": " separators).
void write(const Json& root, int indent, std::string& out) {
  struct Frame {
    const Json* v;
    Json::const_iterator it;
    bool first = true;
  };
  std::vector<Frame> stack;
  auto newline = [&](std::size_t depth) {
    out.push_back('\n');
    out.append(static_cast<std::size_t>(indent) * depth, ' ');
  };
  auto open = [&](const Json& v) {
    if (!v.is_structured() || v.empty()) return write_leaf(v, out);
    out.push_back(v.is_array() ? '[' : '{');
    stack.push_back({&v, v.cbegin()});
  };
  open(root);
  while (!stack.empty()) {
    Frame& f = stack.back();
    const std::size_t depth = stack.size();
    if (f.it == f.v->cend()) {
      if (indent >= 0) newline(depth - 1);
      out.push_back(f.v->is_array() ? ']' : '}');
      stack.pop_back();
      continue;
    }
    if (!f.first) out += indent >= 0 ? "," : ", ";
    f.first = false;
    if (indent >= 0) newline(depth);
    if (f.v->is_object()) {
      write_string(f.it.key(), out);
      out += ": ";
    }
    const Json& child = *f.it;
    ++f.it;
    open(child);  // may push, which invalidates f
  }
}

}  // namespace

std::string to_python_json(const Json& value) {
  std::string out;
  write(value, -1, out);
  return out;
}

std::string to_python_json(const Json& value, int indent) {
  std::string out;
  write(value, indent < 0 ? 0 : indent, out);
  return out;
}

}  // namespace agentrt::chat
