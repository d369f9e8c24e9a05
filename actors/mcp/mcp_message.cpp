// MCP message parsing (see mcp_message.h).
#include "actors/mcp/mcp_message.h"

#include "engine/common/echo.h"

namespace agentrt::actors::mcp {
namespace {

Error bad(const std::string& what) {
  return make_error(ErrorCode::parse, what);
}

// obj[key] when it is a string, else `otherwise` (a server may send any JSON type).
std::string text_field(const Json& obj, const char* key, const char* otherwise = "") {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : otherwise;
}

std::string summarize(const Json& item) {
  const std::string type = text_field(item, "type", "?");
  auto bytes = [&](const char* key) {
    auto it = item.find(key);
    return it != item.end() && it->is_string()
               ? std::to_string(it->get_ref<const std::string&>().size())
               : std::string("0");
  };
  if (type == "image" || type == "audio")
    return "[" + type + " " + text_field(item, "mimeType", "?") + ", " + bytes("data") +
           " bytes of base64]";
  if (type == "resource") {
    const Json r = item.value("resource", Json::object());
    if (r.is_object() && r.contains("text") && r["text"].is_string())
      return r["text"].get<std::string>();
    return "[resource " + (r.is_object() ? text_field(r, "uri", "?") : "?") + "]";
  }
  if (type == "resource_link") return "[resource link " + text_field(item, "uri", "?") + "]";
  return "[" + echo_value(type, 40) + " content]";
}

}  // namespace

Result<Message> parse_message(std::string_view line) {
  Json j = Json::parse(line, nullptr, false);
  if (j.is_discarded()) return bad("invalid JSON: " + echo_value(line, 120));
  if (!j.is_object()) return bad("a message must be a JSON object: " + echo_value(line, 120));
  auto v = j.find("jsonrpc");
  if (v == j.end() || *v != "2.0") return bad("not JSON-RPC 2.0 (no \"jsonrpc\": \"2.0\")");
  Message m;
  auto method = j.find("method");
  auto id = j.find("id");
  if (method != j.end()) {
    if (!method->is_string()) return bad("\"method\" must be a string");
    m.method = method->get<std::string>();
    m.kind = id != j.end() ? Message::Kind::request : Message::Kind::notification;
    if (id != j.end() && id->is_number_integer()) m.id = id->get<std::int64_t>();
    return m;
  }
  if (id == j.end() || !id->is_number_integer())
    return bad("a response needs an integer \"id\" (agentrt sends integers)");
  m.id = id->get<std::int64_t>();
  if (auto e = j.find("error"); e != j.end()) {
    std::string msg = "error";
    long long code = 0;
    if (e->is_object()) {
      if (auto t = e->find("message"); t != e->end() && t->is_string()) msg = t->get<std::string>();
      if (auto c = e->find("code"); c != e->end() && c->is_number_integer())
        code = c->get<long long>();
    }
    m.error =
        make_error(ErrorCode::io, echo_value(msg, 1000) + " (code " + std::to_string(code) + ")");
    return m;
  }
  auto r = j.find("result");
  if (r == j.end()) return bad("a response needs \"result\" or \"error\"");
  m.result = std::move(*r);
  return m;
}

Result<std::vector<ToolInfo>> parse_tools_page(const Json& result, std::string& next_cursor) {
  next_cursor.clear();
  if (!result.is_object()) return bad("tools/list: the result is not an object");
  auto tools = result.find("tools");
  if (tools == result.end() || !tools->is_array())
    return bad("tools/list: the result has no \"tools\" array");
  std::vector<ToolInfo> out;
  for (std::size_t i = 0; i < tools->size(); ++i) {
    const Json& t = (*tools)[i];
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string() ||
        t["name"].get_ref<const std::string&>().empty())
      return bad("tools/list: /tools/" + std::to_string(i) + " has no name");
    ToolInfo info;
    info.name = t["name"].get<std::string>();
    if (auto d = t.find("description"); d != t.end() && d->is_string())
      info.description = d->get<std::string>();
    else if (auto ti = t.find("title"); ti != t.end() && ti->is_string())
      info.description = ti->get<std::string>();
    info.input_schema = t.value("inputSchema", Json::object());
    out.push_back(std::move(info));
  }
  if (auto c = result.find("nextCursor"); c != result.end() && c->is_string())
    next_cursor = c->get<std::string>();
  return out;
}

Result<std::string> render_call_result(const Json& result, std::size_t max_bytes) {
  if (!result.is_object()) return bad("tools/call: the result is not an object");
  auto content = result.find("content");
  std::string text;
  if (content != result.end() && content->is_array()) {
    for (const auto& item : *content) {
      if (!item.is_object()) continue;
      if (!text.empty()) text += "\n";
      if (text_field(item, "type") == "text" && item.contains("text") && item["text"].is_string())
        text += item["text"].get<std::string>();
      else
        text += summarize(item);
      if (text.size() > max_bytes) break;
    }
  } else if (auto s = result.find("structuredContent"); s != result.end()) {
    text = s->dump();
  } else {
    return bad("tools/call: the result has no \"content\" array");
  }
  if (text.size() > max_bytes) {
    text.resize(max_bytes);
    text += "\n[output cut at " + std::to_string(max_bytes) + " bytes]";
  }
  if (auto e = result.find("isError"); e != result.end() && *e == true)
    return make_error(ErrorCode::invalid_argument,
                      text.empty() ? "the tool reported an error" : text);
  return text;
}

std::string exposed_name(const std::string& server, const std::string& tool) {
  std::string n = server + "_" + tool;
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  if (n.size() > 64) n.resize(64);
  return n;
}

}  // namespace agentrt::actors::mcp
