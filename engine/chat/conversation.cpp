#include "engine/chat/conversation.h"

#include <vector>

#include "engine/chat/python_json.h"
#include "engine/common/echo.h"
#include "engine/common/json_depth.h"

namespace agentrt::chat {

std::string arguments_json(const ToolCall& call) {
  return call.arguments.is_string() ? call.arguments.get<std::string>()
                                    : to_python_json(call.arguments);
}
namespace {

struct Ctx {
  const std::string& source;
  Error err(const std::string& ptr, const std::string& msg) const {
    return make_error(ErrorCode::invalid_argument, source + ": " + ptr + ": " + msg);
  }
};

// Refuses values nested deeper than kMaxJsonDepth, walking them iteratively: a Json built
// by a caller (not parsed from checked text) would otherwise be copied recursively below.
Status check_depth(const Ctx& c, const Json& root, const std::string& ptr) {
  struct Frame {
    const Json* v;
    Json::const_iterator it;
    std::size_t index = 0;
  };
  std::vector<Frame> stack;
  if (!root.is_structured()) return ok_status();
  stack.push_back({&root, root.cbegin()});
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.it == f.v->cend()) {
      stack.pop_back();
      continue;
    }
    const Json& child = *f.it;
    ++f.it;
    ++f.index;
    if (!child.is_structured()) continue;
    if (stack.size() >= static_cast<std::size_t>(kMaxJsonDepth)) {
      std::string where = ptr;
      for (const Frame& g : stack) {
        // Each frame's iterator has moved past the child being walked.
        where += "/" + (g.v->is_array() ? std::to_string(g.index - 1) : std::prev(g.it).key());
        if (where.size() > kMaxEchoBytes) break;
      }
      return c.err(echo_value(where),
                   "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    stack.push_back({&child, child.cbegin()});
  }
  return ok_status();
}

Result<Role> parse_role(const Ctx& c, const Json& m, const std::string& ptr) {
  if (!m.contains("role") || !m["role"].is_string())
    return c.err(ptr + "/role", "expected a string");
  const std::string r = m["role"].get<std::string>();
  if (r == "system" || r == "developer") return Role::system;
  if (r == "user") return Role::user;
  if (r == "assistant") return Role::assistant;
  if (r == "tool") return Role::tool;
  return c.err(ptr + "/role", "unknown role '" + echo_value(r) + "'");
}

Result<std::string> parse_content(const Ctx& c, const Json& m, const std::string& ptr) {
  if (!m.contains("content") || m["content"].is_null()) return std::string();
  const Json& v = m["content"];
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) return c.err(ptr + "/content", "expected a string, null or an array of parts");
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const Json& part = v[i];
    if (!part.is_object() || !part.contains("text") || !part["text"].is_string())
      return c.err(ptr + "/content/" + std::to_string(i),
                   "expected a {\"type\": \"text\", \"text\": ...} part");
    out += part["text"].get<std::string>();
  }
  return out;
}

Result<ToolCall> parse_tool_call(const Ctx& c, const Json& t, const std::string& ptr) {
  if (!t.is_object()) return c.err(ptr, "expected an object");
  const Json& f = t.contains("function") ? t["function"] : t;
  const std::string fptr = t.contains("function") ? ptr + "/function" : ptr;
  if (!f.is_object() || !f.contains("name") || !f["name"].is_string())
    return c.err(fptr + "/name", "expected a string");
  ToolCall call;
  call.name = f["name"].get<std::string>();
  if (t.contains("id") && t["id"].is_string()) call.id = t["id"].get<std::string>();
  if (f.contains("arguments")) {
    call.arguments = f["arguments"];
    if (!call.arguments.is_object() && !call.arguments.is_string())
      return c.err(fptr + "/arguments", "expected an object or a JSON string");
  } else {
    call.arguments = Json::object();
  }
  return call;
}

Result<Message> parse_message(const Ctx& c, const Json& m, const std::string& ptr) {
  if (!m.is_object()) return c.err(ptr, "expected an object");
  Message msg;
  auto role = parse_role(c, m, ptr);
  if (!role.ok()) return role.error();
  msg.role = *role;
  auto content = parse_content(c, m, ptr);
  if (!content.ok()) return content.error();
  msg.content = std::move(*content);
  if (m.contains("reasoning_content") && m["reasoning_content"].is_string())
    msg.reasoning_content = m["reasoning_content"].get<std::string>();
  if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
    if (msg.role != Role::assistant)
      return c.err(ptr + "/tool_calls", "only assistant messages have tool calls");
    if (!m["tool_calls"].is_array()) return c.err(ptr + "/tool_calls", "expected an array");
    for (std::size_t i = 0; i < m["tool_calls"].size(); ++i) {
      auto call = parse_tool_call(c, m["tool_calls"][i], ptr + "/tool_calls/" + std::to_string(i));
      if (!call.ok()) return call.error();
      msg.tool_calls.push_back(std::move(*call));
    }
  }
  if (m.contains("tool_call_id") && m["tool_call_id"].is_string())
    msg.tool_call_id = m["tool_call_id"].get<std::string>();
  if (m.contains("name") && m["name"].is_string()) msg.name = m["name"].get<std::string>();
  return msg;
}

Result<ToolDefinition> parse_tool(const Ctx& c, const Json& t, const std::string& ptr) {
  if (!t.is_object()) return c.err(ptr, "expected an object");
  const Json& f = t.contains("function") ? t["function"] : t;
  const std::string fptr = t.contains("function") ? ptr + "/function" : ptr;
  if (!f.is_object() || !f.contains("name") || !f["name"].is_string())
    return c.err(fptr + "/name", "expected a string");
  ToolDefinition def;
  def.name = f["name"].get<std::string>();
  if (f.contains("description") && f["description"].is_string())
    def.description = f["description"].get<std::string>();
  if (f.contains("parameters")) {
    if (!f["parameters"].is_object())
      return c.err(fptr + "/parameters", "expected a JSON schema object");
    def.parameters = f["parameters"];
  }
  def.raw = t;
  return def;
}

}  // namespace

const char* to_string(Role role) {
  switch (role) {
    case Role::system:
      return "system";
    case Role::user:
      return "user";
    case Role::assistant:
      return "assistant";
    case Role::tool:
      return "tool";
  }
  return "?";
}

Result<Conversation> parse_conversation(const Json& messages, const Json& tools,
                                        const std::string& source) {
  const Ctx c{source};
  if (!messages.is_array()) return c.err("/messages", "expected an array");
  if (Status s = check_depth(c, messages, "/messages"); !s.ok()) return s.error();
  if (Status s = check_depth(c, tools, "/tools"); !s.ok()) return s.error();
  Conversation conv;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    auto m = parse_message(c, messages[i], "/messages/" + std::to_string(i));
    if (!m.ok()) return m.error();
    conv.messages.push_back(std::move(*m));
  }
  if (tools.is_null()) return conv;
  if (!tools.is_array()) return c.err("/tools", "expected an array or null");
  for (std::size_t i = 0; i < tools.size(); ++i) {
    auto t = parse_tool(c, tools[i], "/tools/" + std::to_string(i));
    if (!t.ok()) return t.error();
    conv.tools.push_back(std::move(*t));
  }
  return conv;
}

Result<Conversation> parse_conversation_json(std::string_view text, const std::string& source) {
  // Before parsing: the parser is iterative, but copies of what it builds are not.
  if (Status s = check_json_depth(text, source); !s.ok()) return s.error();
  try {
    const Json root = Json::parse(text);
    if (!root.is_object())
      return make_error(ErrorCode::invalid_argument, source + ": /: expected an object");
    return parse_conversation(root.contains("messages") ? root["messages"] : Json(),
                              root.contains("tools") ? root["tools"] : Json(), source);
  } catch (const Json::parse_error& e) {
    return make_error(ErrorCode::parse, source + ": invalid JSON at byte " +
                                            std::to_string(e.byte) + ": " + e.what());
  } catch (const std::exception& e) {
    return make_error(ErrorCode::parse, source + ": " + e.what());
  }
}

}  // namespace agentrt::chat
