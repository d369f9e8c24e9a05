#include "engine/chat/python_json.h"

#include <cmath>
#include <cstdio>

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

void write(const Json& v, std::string& out) {
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
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const Json& e : v) {
        if (!first) out += ", ";
        first = false;
        write(e, out);
      }
      out.push_back(']');
      break;
    }
    case Json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        if (!first) out += ", ";
        first = false;
        write_string(k, out);
        out += ": ";
        write(e, out);
      }
      out.push_back('}');
      break;
    }
    default:
      out += "null";  // binary/discarded values do not occur in parsed JSON
  }
}

// json.dumps(indent=N): items on their own lines, "," and ": " separators, empty
// containers as "[]" and "{}".
void write_indented(const Json& v, int indent, int depth, std::string& out) {
  if (!v.is_structured() || v.empty()) {
    write(v, out);
    return;
  }
  const std::string inner = "\n" + std::string(static_cast<std::size_t>(indent * (depth + 1)), ' ');
  out.push_back(v.is_array() ? '[' : '{');
  bool first = true;
  for (const auto& [k, e] : v.items()) {
    if (!first) out.push_back(',');
    first = false;
    out += inner;
    if (v.is_object()) {
      write_string(k, out);
      out += ": ";
    }
    write_indented(e, indent, depth + 1, out);
  }
  out += "\n" + std::string(static_cast<std::size_t>(indent * depth), ' ');
  out.push_back(v.is_array() ? ']' : '}');
}

}  // namespace

std::string to_python_json(const Json& value) {
  std::string out;
  write(value, out);
  return out;
}

std::string to_python_json(const Json& value, int indent) {
  std::string out;
  write_indented(value, indent < 0 ? 0 : indent, 0, out);
  return out;
}

}  // namespace agentrt::chat
