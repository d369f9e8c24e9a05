#include "actors/agent_prompt.h"

#include <algorithm>

namespace agentrt::actors {
namespace {

chat::RenderOptions options_for(const tokenizer::Tokenizer& tok,
                                std::optional<bool> enable_thinking) {
  chat::RenderOptions ro;
  ro.add_generation_prompt = true;
  ro.enable_thinking = enable_thinking;
  if (tok.bos_id()) ro.bos_token = tok.config().bos_token;
  return ro;
}

}  // namespace

Result<FirstPrompt> render_first_prompt(const chat::ChatTemplate& chat,
                                        const tokenizer::Tokenizer& tok, const ToolRegistry& tools,
                                        const AgentSpec& spec, const std::string& input) {
  const std::string where = "agent '" + spec.name + "'";
  if (!spec.tools.empty() && chat.tool_call_format() == chat::ToolCallFormat::none)
    return make_error(ErrorCode::unsupported,
                      where +
                          ": the model's chat template has no tool-call format that agentrt "
                          "parses (hermes <tool_call>, Llama JSON, Mistral [TOOL_CALLS], gpt-oss "
                          "harmony); run the agent without tools");
  FirstPrompt p;
  auto defs = tools.definitions(spec.tools);
  if (!defs.ok()) return defs.error().with_context(where);
  p.conversation.tools = std::move(*defs);
  if (!spec.system_prompt.empty())
    p.conversation.messages.push_back({chat::Role::system, spec.system_prompt, {}, {}, {}, {}});
  p.conversation.messages.push_back({chat::Role::user, input, {}, {}, {}, {}});
  auto text = chat.render(p.conversation, options_for(tok, spec.enable_thinking));
  if (!text.ok()) return text.error().with_context(where + ": prompt");
  p.text = std::move(*text);
  p.tokens = tok.encode(p.text, false);
  if (spec.kv_reuse == KvReuse::blend) {
    std::size_t after_system = 0;
    std::vector<TextSpan> ranges;
    if (!spec.system_prompt.empty())
      ranges =
          place_spans(p.text, spec.system_prompt, spec.system_segments, 0, false, &after_system);
    auto in = place_spans(p.text, input, spec.input_segments, after_system, true);
    ranges.insert(ranges.end(), in.begin(), in.end());
    p.segments = token_spans(tok, p.tokens, p.text, ranges, spec.min_segment_tokens);
  }
  return p;
}

Result<FirstPrompt> render_first_prompt(chat::Family family, const tokenizer::Tokenizer& tok,
                                        const ToolRegistry& tools, const AgentSpec& spec,
                                        const std::string& input) {
  return render_first_prompt(chat::ChatTemplate::of_family(family), tok, tools, spec, input);
}

Result<NextPrompt> next_prompt(const chat::ChatTemplate& chat, const tokenizer::Tokenizer& tok,
                               const chat::Conversation& conv, std::span<const std::int32_t> held,
                               std::optional<bool> enable_thinking) {
  const auto& msgs = conv.messages;
  const auto reply = std::find_if(msgs.rbegin(), msgs.rend(), [](const chat::Message& m) {
    return m.role == chat::Role::assistant;
  });
  if (reply == msgs.rend() || reply == msgs.rbegin())
    return make_error(ErrorCode::invalid_argument,
                      "next prompt: no message after the last assistant reply");
  NextPrompt next;
  if (const auto family = chat.family()) {
    const auto after = reply.base();  // the first message after the reply
    Result<std::string> suffix = std::string();
    if (after->role == chat::Role::user && after + 1 == msgs.end()) {
      suffix = user_message_suffix(*family, after->content, enable_thinking);
    } else {
      std::vector<std::string> results;
      for (auto m = after; m != msgs.end(); ++m) {
        if (m->role != chat::Role::tool)
          return make_error(ErrorCode::invalid_argument,
                            "next prompt: expected tool messages after the reply");
        results.push_back(m->content);
      }
      suffix = tool_results_suffix(*family, results, enable_thinking);
    }
    if (!suffix.ok()) return suffix.error();
    next.tokens = tok.encode(*suffix, false);
    return next;
  }
  // Replies as parse_reply gives them: content trimmed (a template writes the separator
  // before a call itself).
  chat::Conversation c = conv;
  for (auto& m : c.messages) {
    if (m.role != chat::Role::assistant) continue;
    const std::size_t b = m.content.find_first_not_of(" \t\r\n");
    m.content = b == std::string::npos
                    ? std::string()
                    : m.content.substr(b, m.content.find_last_not_of(" \t\r\n") - b + 1);
  }
  auto text = chat.render(c, options_for(tok, enable_thinking));
  if (!text.ok()) return text.error().with_context("next prompt");
  auto full = tok.encode(*text, false);
  if (full.size() > held.size() && std::equal(held.begin(), held.end(), full.begin())) {
    next.tokens.assign(full.begin() + static_cast<std::ptrdiff_t>(held.size()), full.end());
    return next;
  }
  // The same text, tokenized otherwise (a model need not sample the canonical tokens of
  // what it writes): append the rest of the text, as the family paths do.
  if (auto held_text = tok.decode(held, false);
      held_text.ok() && text->size() > held_text->size() && text->starts_with(*held_text)) {
    next.tokens = tok.encode(std::string_view(*text).substr(held_text->size()), false);
    return next;
  }
  next.tokens = std::move(full);
  next.reprefill = true;
  return next;
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

Result<std::string> user_message_suffix(chat::Family family, const std::string& text,
                                        std::optional<bool> enable_thinking) {
  switch (family) {
    case chat::Family::chatml_qwen: {
      std::string s = "\n<|im_start|>user\n" + text + "<|im_end|>\n<|im_start|>assistant\n";
      if (enable_thinking.has_value() && !*enable_thinking) s += "<think>\n\n</think>\n\n";
      return s;
    }
    case chat::Family::llama3:
    case chat::Family::llama3_tools:
      return "<|start_header_id|>user<|end_header_id|>\n\n" + text +
             "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
  }
  return make_error(ErrorCode::unsupported, "user turn: unknown chat family");
}

}  // namespace agentrt::actors
