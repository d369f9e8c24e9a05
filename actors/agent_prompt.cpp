#include "actors/agent_prompt.h"

namespace agentrt::actors {

Result<FirstPrompt> render_first_prompt(chat::Family family, const tokenizer::Tokenizer& tok,
                                        const ToolRegistry& tools, const AgentSpec& spec,
                                        const std::string& input) {
  FirstPrompt p;
  auto defs = tools.definitions(spec.tools);
  if (!defs.ok()) return defs.error().with_context("agent '" + spec.name + "'");
  p.conversation.tools = std::move(*defs);
  if (!spec.system_prompt.empty())
    p.conversation.messages.push_back({chat::Role::system, spec.system_prompt, {}, {}, {}, {}});
  p.conversation.messages.push_back({chat::Role::user, input, {}, {}, {}, {}});
  chat::RenderOptions ro;
  ro.add_generation_prompt = true;
  ro.enable_thinking = spec.enable_thinking;
  if (tok.bos_id()) ro.bos_token = tok.config().bos_token;
  auto text = chat::render(family, p.conversation, ro);
  if (!text.ok()) return text.error().with_context("agent '" + spec.name + "': prompt");
  p.text = std::move(*text);
  p.tokens = tok.encode(p.text, false);
  return p;
}

Result<std::string> tool_results_suffix(chat::Family family,
                                        const std::vector<std::string>& results,
                                        std::optional<bool> enable_thinking) {
  std::string s;
  switch (family) {
    case chat::Family::chatml_qwen:
      // Qwen3's template: consecutive tool messages share one user turn.
      s = "\n<|im_start|>user";
      for (const auto& r : results)
        s += "\n<tool_response>\n" + r + "\n</tool_response>";
      s += "<|im_end|>\n<|im_start|>assistant\n";
      if (enable_thinking.has_value() && !*enable_thinking) s += "<think>\n\n</think>\n\n";
      return s;
    case chat::Family::llama3:
    case chat::Family::llama3_tools:
      for (const auto& r : results)
        s += "<|start_header_id|>ipython<|end_header_id|>\n\n" + r + "<|eot_id|>";
      s += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      return s;
  }
  return make_error(ErrorCode::unsupported, "tool results: unknown chat family");
}

}  // namespace agentrt::actors
