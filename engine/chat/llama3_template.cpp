// The Llama-3 header chat template shipped in the Llama-3.1 tokenizer_config.json:
//   {% for message in messages %}{% set content = '<|start_header_id|>' + message['role'] +
//   '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0
//   %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}
//   {% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
// Tool definitions and tool calls are not part of that template, so they do not render.
#include "engine/chat/python_str.h"
#include "engine/chat/template_renderers.h"

namespace agentrt::chat {

Result<std::string> render_llama3(const Conversation& conv, const RenderOptions& options) {
  std::string out;
  for (std::size_t i = 0; i < conv.messages.size(); ++i) {
    const Message& m = conv.messages[i];
    if (i == 0) out += options.bos_token;
    out += "<|start_header_id|>";
    out += to_string(m.role);
    out += "<|end_header_id|>\n\n";
    out += py::strip_whitespace(m.content);
    out += "<|eot_id|>";
  }
  if (options.add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

}  // namespace agentrt::chat
