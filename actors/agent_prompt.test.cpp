// The agent's turn-by-turn prompt on templates that only Jinja renders (Gemma 3,
// DeepSeek-V3, real tokenizer_config.json files): the tokens held after each reply plus what
// next_prompt appends equal the tokens of the whole conversation rendered at once, so the
// paused KV stays what a re-render gives. A reply the template renders back differently
// is prefilled anew. Templates without a tool-call format refuse an agent with tools, and a
// config without a chat_template is refused naming the file.
#include "actors/agent_prompt.h"

#include <gtest/gtest.h>

#include "actors/tool.h"
#include "engine/tokenizer/tokenizer_test_util.h"

namespace agentrt::actors {
namespace {

using chat::Message;
using chat::Role;

chat::ChatTemplate template_of(const std::string& name) {
  auto t = chat::ChatTemplate::from_dir(tokenizer::test::tokenizers_dir() + "/" + name);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().to_string());
  return t.ok() ? *t : chat::ChatTemplate::of_family(chat::Family::chatml_qwen);
}

chat::RenderOptions with_prompt(const tokenizer::Tokenizer& tok, bool gen) {
  chat::RenderOptions ro;
  ro.add_generation_prompt = gen;
  if (tok.bos_id()) ro.bos_token = tok.config().bos_token;
  return ro;
}

// Plays the conversation turn by turn: the first prompt, then for each assistant message
// the reply "as generated" (what the template renders for it, up to and including eos), then
// next_prompt for the messages after it. Returns how many turns were appended.
int play(const std::string& name, const std::vector<Message>& messages, const std::string& eos) {
  const tokenizer::Tokenizer* tok = tokenizer::test::real_tokenizer(name);
  if (tok == nullptr) return -1;
  const chat::ChatTemplate tmpl = template_of(name);
  EXPECT_FALSE(tmpl.family().has_value()) << name;
  chat::Conversation conv;
  std::size_t i = 0;
  while (messages[i].role != Role::assistant)
    conv.messages.push_back(messages[i++]);
  auto first = tmpl.render(conv, with_prompt(*tok, true));
  EXPECT_TRUE(first.ok()) << first.error().to_string();
  std::vector<std::int32_t> held = tok->encode(*first, false);
  int appended = 0;
  while (i < messages.size()) {
    const std::string before = *tmpl.render(conv, with_prompt(*tok, true));
    conv.messages.push_back(messages[i++]);  // the reply
    const std::string with_reply = *tmpl.render(conv, with_prompt(*tok, false));
    EXPECT_TRUE(with_reply.starts_with(before)) << name;
    const std::size_t end = with_reply.find(eos, before.size());
    EXPECT_NE(end, std::string::npos) << with_reply;
    const auto reply =
        tok->encode(with_reply.substr(before.size(), end + eos.size() - before.size()), false);
    held.insert(held.end(), reply.begin(), reply.end());
    if (i == messages.size()) break;
    while (i < messages.size() && messages[i].role != Role::assistant)
      conv.messages.push_back(messages[i++]);
    auto next = next_prompt(tmpl, *tok, conv, held, std::nullopt);
    EXPECT_TRUE(next.ok()) << next.error().to_string();
    if (!next.ok()) return appended;
    EXPECT_FALSE(next->reprefill) << name << " turn " << appended;
    held.insert(held.end(), next->tokens.begin(), next->tokens.end());
    EXPECT_EQ(held, tok->encode(*tmpl.render(conv, with_prompt(*tok, true)), false))
        << name << " turn " << appended;
    ++appended;
  }
  return appended;
}

TEST(AgentPromptJinja, Gemma3TurnsAppendWhatTheFullRenderingHolds) {
  const std::vector<Message> m = {
      {Role::system, "Answer briefly.", {}, {}, {}, {}},
      {Role::user, "What is 2+3?", {}, {}, {}, {}},
      {Role::assistant, "5.", {}, {}, {}, {}},
      {Role::user, "And times 4?", {}, {}, {}, {}},
      {Role::assistant, "20.", {}, {}, {}, {}},
  };
  EXPECT_EQ(play("gemma3", m, "<end_of_turn>"), 1);
}

TEST(AgentPromptJinja, DeepSeekV3ToolTurnsAppendWhatTheFullRenderingHolds) {
  chat::ToolCall call{"call_1", "calculator", chat::Json("{\"expression\": \"2+3\"}")};
  chat::ToolCall call2{"call_2", "calculator", chat::Json("{\"expression\": \"5*4\"}")};
  const std::vector<Message> m = {
      {Role::system, "Use the calculator.", {}, {}, {}, {}},
      {Role::user, "What is (2+3)*4?", {}, {}, {}, {}},
      {Role::assistant, "", {}, {call}, {}, {}},
      {Role::tool, "5", {}, {}, "call_1", "calculator"},
      {Role::assistant, "", {}, {call2}, {}, {}},
      {Role::tool, "20", {}, {}, "call_2", "calculator"},
      {Role::assistant, "It is 20.", {}, {}, {}, {}},
  };
  EXPECT_EQ(play("deepseek_v3", m, "<｜end▁of▁sentence｜>"), 2);
}

TEST(AgentPromptJinja, ReplyRenderedBackDifferentlyIsPrefilledAnew) {
  const tokenizer::Tokenizer* tok = tokenizer::test::real_tokenizer("gemma3");
  ASSERT_NE(tok, nullptr);
  const chat::ChatTemplate tmpl = template_of("gemma3");
  chat::Conversation conv;
  conv.messages.push_back({Role::user, "Hi", {}, {}, {}, {}});
  std::vector<std::int32_t> held = tok->encode(*tmpl.render(conv, with_prompt(*tok, true)), false);
  // Gemma's template trims a reply: "  Hello  " comes back as "Hello".
  const auto reply = tok->encode("  Hello  <end_of_turn>", false);
  held.insert(held.end(), reply.begin(), reply.end());
  conv.messages.push_back({Role::assistant, "  Hello  ", {}, {}, {}, {}});
  conv.messages.push_back({Role::user, "Again", {}, {}, {}, {}});
  auto next = next_prompt(tmpl, *tok, conv, held, std::nullopt);
  ASSERT_TRUE(next.ok()) << next.error().to_string();
  EXPECT_TRUE(next->reprefill);
  EXPECT_EQ(next->tokens, tok->encode(*tmpl.render(conv, with_prompt(*tok, true)), false));
  // Nothing after the reply: an error, not an empty append.
  conv.messages.pop_back();
  EXPECT_FALSE(next_prompt(tmpl, *tok, conv, held, std::nullopt).ok());
}

TEST(AgentPromptJinja, FamilyFastPathsUnchanged) {
  // The hand-written families append the suffix text, whatever the held tokens.
  const tokenizer::Tokenizer* tok = tokenizer::test::real_tokenizer("qwen3");
  ASSERT_NE(tok, nullptr);
  const auto qwen = chat::ChatTemplate::of_family(chat::Family::chatml_qwen);
  chat::Conversation conv;
  conv.messages.push_back({Role::user, "q", {}, {}, {}, {}});
  conv.messages.push_back({Role::assistant, "", {}, {{"", "calculator", {}}}, {}, {}});
  conv.messages.push_back({Role::tool, "3", {}, {}, {}, "calculator"});
  auto next = next_prompt(qwen, *tok, conv, {}, false);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->reprefill);
  EXPECT_EQ(next->tokens,
            tok->encode(*tool_results_suffix(chat::Family::chatml_qwen, {"3"}, false), false));
  conv.messages.push_back({Role::assistant, "x", {}, {}, {}, {}});
  conv.messages.push_back({Role::user, "more", {}, {}, {}, {}});
  next = next_prompt(qwen, *tok, conv, {}, std::nullopt);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->tokens,
            tok->encode("\n<|im_start|>user\nmore<|im_end|>\n<|im_start|>assistant\n", false));
}

TEST(AgentPromptJinja, ToolsNeedAToolCallFormat) {
  const tokenizer::Tokenizer* tok = tokenizer::test::real_tokenizer("gemma3");
  ASSERT_NE(tok, nullptr);
  ToolRegistry tools;
  auto calc = make_builtin_tool(ToolConfig{});
  ASSERT_TRUE(calc.ok());
  ASSERT_TRUE(tools.add(*calc).ok());
  AgentSpec spec;
  spec.name = "calc";
  spec.tools = {"calculator"};
  auto refused = render_first_prompt(template_of("gemma3"), *tok, tools, spec, "2+3?");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::unsupported);
  EXPECT_NE(refused.error().message.find("agent 'calc': the model's chat template has no "
                                         "tool-call format"),
            std::string::npos)
      << refused.error().message;
  spec.tools.clear();
  auto plain = render_first_prompt(template_of("gemma3"), *tok, tools, spec, "2+3?");
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  EXPECT_EQ(plain->text, "<bos><start_of_turn>user\n2+3?<end_of_turn>\n<start_of_turn>model\n");
}

}  // namespace
}  // namespace agentrt::actors
