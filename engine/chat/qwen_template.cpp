// The Qwen3 chat template (tokenizer_config.json "chat_template"), transcribed statement by
// statement; the Jinja it mirrors is quoted in the comments.
#include "engine/chat/chat_template.h"
#include "engine/chat/python_json.h"
#include "engine/chat/python_str.h"
#include "engine/chat/template_renderers.h"

namespace agentrt::chat {
namespace {

constexpr std::string_view kToolsHeader =
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are "
    "provided with function signatures within <tools></tools> XML tags:\n<tools>";
constexpr std::string_view kToolsFooter =
    "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": "
    "<function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n";

bool is_tool_response(const std::string& s) {
  return s.starts_with("<tool_response>") && s.ends_with("</tool_response>");
}

void render_system(const Conversation& conv, std::string& out) {
  const auto& msgs = conv.messages;
  const bool first_is_system = msgs[0].role == Role::system;
  if (!conv.tools.empty()) {
    out += "<|im_start|>system\n";
    if (first_is_system) out += msgs[0].content + "\n\n";
    out += kToolsHeader;
    for (const ToolDefinition& t : conv.tools)
      out += "\n" + to_python_json(t.raw);
    out += kToolsFooter;
  } else if (first_is_system) {
    out += "<|im_start|>system\n" + msgs[0].content + "<|im_end|>\n";
  }
}

// Index of the last real user query (not a wrapped tool response); len-1 when none.
std::size_t last_query_index(const std::vector<Message>& msgs) {
  for (std::size_t k = msgs.size(); k-- > 0;)
    if (msgs[k].role == Role::user && !is_tool_response(msgs[k].content)) return k;
  return msgs.size() - 1;
}

void render_tool_calls(const Message& m, std::string_view content, std::string& out) {
  for (std::size_t j = 0; j < m.tool_calls.size(); ++j) {
    const ToolCall& call = m.tool_calls[j];
    if ((j == 0 && !content.empty()) || j > 0) out += "\n";
    out += "<tool_call>\n{\"name\": \"" + call.name + "\", \"arguments\": ";
    out += arguments_json(call);
    out += "}\n</tool_call>";
  }
}

void render_assistant(const Message& m, bool after_query, bool last, std::string& out) {
  std::string_view content = m.content;
  std::string_view reasoning;
  if (m.reasoning_content) {
    reasoning = *m.reasoning_content;
  } else if (const std::size_t end = m.content.rfind("</think>"); end != std::string::npos) {
    // content.split('</think>')[-1].lstrip('\n'); reasoning from split('</think>')[0]
    content = py::lstrip(std::string_view(m.content).substr(end + 8), "\n");
    std::string_view before =
        py::rstrip(std::string_view(m.content).substr(0, m.content.find("</think>")), "\n");
    if (const std::size_t open = before.rfind("<think>"); open != std::string_view::npos)
      before = before.substr(open + 7);
    reasoning = py::lstrip(before, "\n");
  }
  if (after_query && (last || !reasoning.empty())) {
    out += "<|im_start|>assistant\n<think>\n";
    out += py::strip(reasoning, "\n");
    out += "\n</think>\n\n";
    out += py::lstrip(content, "\n");
  } else {
    out += "<|im_start|>assistant\n";
    out += content;
  }
  render_tool_calls(m, content, out);
  out += "<|im_end|>\n";
}

}  // namespace

Result<std::string> render_chatml_qwen(const Conversation& conv, const RenderOptions& options) {
  const auto& msgs = conv.messages;
  std::string out;
  render_system(conv, out);
  const std::size_t last_query = last_query_index(msgs);
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const Message& m = msgs[i];
    const bool last = i + 1 == msgs.size();
    if (m.role == Role::user || (m.role == Role::system && i != 0)) {
      out += std::string("<|im_start|>") + to_string(m.role) + "\n" + m.content + "<|im_end|>\n";
    } else if (m.role == Role::assistant) {
      render_assistant(m, i > last_query, last, out);
    } else if (m.role == Role::tool) {
      if (i == 0 || msgs[i - 1].role != Role::tool) out += "<|im_start|>user";
      out += "\n<tool_response>\n" + m.content + "\n</tool_response>";
      if (last || msgs[i + 1].role != Role::tool) out += "<|im_end|>\n";
    }
  }
  if (options.add_generation_prompt) {
    out += "<|im_start|>assistant\n";
    if (options.enable_thinking.has_value() && !*options.enable_thinking)
      out += "<think>\n\n</think>\n\n";
  }
  return out;
}

}  // namespace agentrt::chat
