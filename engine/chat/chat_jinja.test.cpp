// The Jinja path (ChatTemplate::render_jinja on the real tokenizer_config.json templates)
// against the hand-written family renderers and transformers' output on the golden
// conversations of tests/tokenizer/fixtures/*.chat.jsonl: the fast paths are kept only where
// both give the same bytes. The cases where they differ are listed with the reason.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "engine/chat/chat_template.h"
#include "engine/chat/conversation.h"
#include "engine/tokenizer/tokenizer_test_util.h"

namespace agentrt::chat {
namespace {

std::string fixtures_dir() {
  if (const char* d = std::getenv("AGENTRT_TOKENIZER_FIXTURES_DIR"); d != nullptr && *d != '\0')
    return d;
  return std::string(AGENTRT_SOURCE_DIR) + "/tests/tokenizer/fixtures";
}

struct Outcome {
  int compared = 0;
  std::set<std::string> differ;  // case names where the Jinja path differs from the fast path
};

Outcome compare(const std::string& name, const std::set<std::string>& known = {}) {
  Outcome o;
  const std::string dir = tokenizer::test::tokenizers_dir() + "/" + name;
  auto tmpl = ChatTemplate::from_dir(dir);
  EXPECT_TRUE(tmpl.ok()) << (tmpl.ok() ? "" : tmpl.error().to_string())
                         << "\nRun scripts/fetch_tokenizers.sh (or set AGENTRT_TOKENIZERS_DIR).";
  if (!tmpl.ok()) return o;
  EXPECT_TRUE(tmpl->family().has_value()) << name << " should keep its hand-written renderer";
  if (!tmpl->family()) return o;
  const std::string path = fixtures_dir() + "/" + name + ".chat.jsonl";
  std::ifstream in(path);
  EXPECT_TRUE(in) << path << " is missing";
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const Json row = Json::parse(line);
    const std::string case_name = row["name"].get<std::string>();
    auto conv = parse_conversation(row["messages"], row["tools"], case_name);
    EXPECT_TRUE(conv.ok());
    if (!conv.ok()) continue;
    RenderOptions options;
    options.add_generation_prompt = row["add_generation_prompt"].get<bool>();
    const Json& kwargs = row["kwargs"];
    if (kwargs.contains("enable_thinking"))
      options.enable_thinking = kwargs["enable_thinking"].get<bool>();
    if (kwargs.contains("tools_in_user_message"))
      options.tools_in_user_message = kwargs["tools_in_user_message"].get<bool>();
    if (kwargs.contains("date_string"))
      options.date_string = kwargs["date_string"].get<std::string>();
    // bos_token keeps its default, Llama-3's "<|begin_of_text|>" (Qwen's template has none);
    // the Jinja path takes the tokens from tokenizer_config.json, as transformers does.
    auto fast = render(*tmpl->family(), *conv, options);
    auto slow = tmpl->render_jinja(*conv, options);
    ++o.compared;
    if (fast.ok() != slow.ok() || (fast.ok() && *fast != *slow)) {
      o.differ.insert(case_name);
      if (known.count(case_name) == 0)
        ADD_FAILURE_AT(__FILE__, __LINE__)
            << name << "/" << case_name
            << "\n fast: " << (fast.ok() ? *fast : fast.error().to_string())
            << "\njinja: " << (slow.ok() ? *slow : slow.error().to_string());
    }
  }
  return o;
}

TEST(ChatJinja, Qwen3JinjaPathMatchesTheFastPath) {
  EXPECT_GT(compare("qwen3").compared, 0);
}
TEST(ChatJinja, Llama31JinjaPathMatchesTheFastPath) {
  EXPECT_GT(compare("llama3_1").compared, 0);
}
// One known difference: the tool call's argument 1e+20. The reference renderer (JavaScript)
// writes numbers as JSON.stringify does ("100000000000000000000"); transformers (Python
// json.dumps) and the fast path write "1e+20". Python and JavaScript agree on integers and on
// non-integral floats between 1e-4 and 1e16 in magnitude; an integral float (2.0) is "2" on
// the Jinja path (JSON.parse has one number type) and "2.0" in Python.
TEST(ChatJinja, Llama32JinjaPathMatchesTheFastPath) {
  const Outcome o = compare("llama3_2", {"l32_call_float_null_nested"});
  EXPECT_GT(o.compared, 0);
  EXPECT_EQ(o.differ, std::set<std::string>{"l32_call_float_null_nested"});
}

// Templates no family matches (Gemma 3, DeepSeek-V3, a Mistral-style [INST] template)
// render through Jinja; their outputs are golden-tested against @huggingface/jinja in the
// jinja_golden ctest.
TEST(ChatJinja, UnknownFamiliesRenderThroughJinja) {
  Conversation conv;
  conv.messages.push_back({Role::system, "Be brief.", {}, {}, {}, {}});
  conv.messages.push_back({Role::user, "Hi", {}, {}, {}, {}});
  RenderOptions options;
  options.add_generation_prompt = true;
  for (const char* name : {"gemma3", "deepseek_v3"}) {
    auto tmpl = ChatTemplate::from_dir(tokenizer::test::tokenizers_dir() + "/" + name);
    ASSERT_TRUE(tmpl.ok()) << tmpl.error().to_string();
    EXPECT_FALSE(tmpl->family().has_value()) << name;
    auto text = tmpl->render(conv, options);
    ASSERT_TRUE(text.ok()) << name << ": " << text.error().to_string();
    EXPECT_NE(text->find("Hi"), std::string::npos) << *text;
  }
  auto gemma = ChatTemplate::from_dir(tokenizer::test::tokenizers_dir() + "/gemma3");
  ASSERT_TRUE(gemma.ok());
  EXPECT_EQ(*gemma->render(conv, options),
            "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");

  auto mistral = ChatTemplate::from_text(
      "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}[INST] {{ m.content }} "
      "[/INST]{% elif m.role == 'assistant' %}{{ m.content }}{{ eos_token }}{% endif %}"
      "{% endfor %}",
      "mistral.jinja");
  ASSERT_TRUE(mistral.ok());
  EXPECT_FALSE(mistral->family().has_value());
  options.bos_token = "<s>";
  EXPECT_EQ(*mistral->render(conv, options), "<s>[INST] Hi [/INST]");
  conv.messages.clear();
  EXPECT_FALSE(mistral->render(conv, options).ok());
  EXPECT_FALSE(ChatTemplate::from_text("{% if %}", "bad.jinja").ok());
  EXPECT_FALSE(ChatTemplate::of_family(Family::llama3).render_jinja(conv, options).ok());
}

}  // namespace
}  // namespace agentrt::chat
