// End-to-end tests of the agentrt executable: exit codes, output and error messages.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/run_agentrt.h"

namespace {

using agentrt::testing::RunResult;

RunResult run(const std::string& args) {
  return agentrt::testing::run_agentrt(args);
}

std::string fixture(const std::string& name) {
  return std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/models/" + name;
}

TEST(Cli, GenerateGreedyPrintsTheGoldenContinuation) {
  auto r = run("generate --model " + fixture("llama-gqa") +
               " --tokens 1,17,42,99,3,200,7,7,7,150,31,64,255,12,5,88 --max-tokens 8"
               " --temperature 0 --ignore-eos");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // First greedy tokens recorded by transformers in golden.json.
  EXPECT_NE(r.output.find("216 216 20 109 122 43 122 122"), std::string::npos) << r.output;
}

TEST(Cli, GenerateJsonWithLogprobs) {
  auto r = run("generate --model " + fixture("qwen3-qknorm") +
               " --tokens '1 2 3' --max-tokens 4 --seed 7 --logprobs 2 --json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["tokens"].size(), 4u);
  EXPECT_EQ(j["logprobs"].size(), 4u);
  EXPECT_EQ(j["logprobs"][0]["top"].size(), 2u);
  // The same seed gives the same tokens.
  auto again = nlohmann::json::parse(run("generate --model " + fixture("qwen3-qknorm") +
                                         " --tokens '1 2 3' --max-tokens 4 --seed 7 --logprobs 2"
                                         " --json 2>/dev/null")
                                         .output);
  EXPECT_EQ(j["tokens"], again["tokens"]);
}

TEST(Cli, MissingModelDirIsAClearError) {
  auto r = run("generate --model /nonexistent/model --tokens 1,2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent/model"), std::string::npos) << r.output;
}

TEST(Cli, BadTokenListIsAUsageError) {
  auto r = run("generate --model " + fixture("llama-gqa") + " --tokens 1,x7");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("item 2 ('x7')"), std::string::npos) << r.output;
}

TEST(Cli, OutOfVocabularyTokenIsAnError) {
  auto r = run("generate --model " + fixture("llama-gqa") + " --tokens 1,999999");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("999999"), std::string::npos) << r.output;
}

TEST(Cli, BadSamplingParameterIsAUsageError) {
  auto r = run("generate --model " + fixture("llama-gqa") + " --tokens 1,2 --top-p 1.5");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--top-p"), std::string::npos) << r.output;
}

TEST(Cli, InfoPrintsTheFingerprint) {
  auto r = run("info --model " + fixture("qwen2-bias"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Qwen2ForCausalLM"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fingerprint"), std::string::npos) << r.output;
}

std::string tokenizer_dir(const std::string& name) {
  const char* env = std::getenv("AGENTRT_TOKENIZERS_DIR");
  const char* home = std::getenv("HOME");
  std::string base =
      env && *env ? env : std::string(home ? home : "") + "/.cache/agentrt/tokenizers";
  return base + "/" + name;
}

bool have_tokenizer(const std::string& name) {
  return std::filesystem::exists(tokenizer_dir(name) + "/tokenizer.json");
}

#define REQUIRE_TOKENIZER(name)                                                      \
  if (!have_tokenizer(name)) {                                                       \
    FAIL() << tokenizer_dir(name) << " is missing: run scripts/fetch_tokenizers.sh"; \
  }

TEST(Cli, TokenizeEncodesAndDecodesWithTheRealQwen3Tokenizer) {
  REQUIRE_TOKENIZER("qwen3");
  auto r = run("tokenize --model " + tokenizer_dir("qwen3") + " <<< 'Hello world'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // "Hello world\n" as HF tokenizers encodes it (here-strings append a newline).
  EXPECT_EQ(r.output, "9707 1879 198\n");
  auto d = run("tokenize --decode --model " + tokenizer_dir("qwen3") + " <<< '9707 1879'");
  ASSERT_EQ(d.exit_code, 0) << d.output;
  EXPECT_EQ(d.output, "Hello world");
}

TEST(Cli, TokenizeChatRendersTheModelsTemplate) {
  REQUIRE_TOKENIZER("qwen3");
  auto r = run("tokenize --chat --model " + tokenizer_dir("qwen3") +
               " <<< '[{\"role\":\"user\",\"content\":\"hi\"}]'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

// A model outside the hand-written families renders its own chat_template through the
// Jinja interpreter (Gemma 3 folds the system message into the first user turn), and its
// SentencePiece-style tokenizer encodes the result.
TEST(Cli, TokenizeChatRendersAJinjaOnlyTemplate) {
  REQUIRE_TOKENIZER("gemma3");
  const std::string chat =
      " <<< '[{\"role\":\"system\",\"content\":\"Be brief.\"},"
      "{\"role\":\"user\",\"content\":\"Hi\"}]'";
  auto r = run("tokenize --chat --model " + tokenizer_dir("gemma3") + chat);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
}

TEST(Cli, TokenizeRejectsBadInputClearly) {
  REQUIRE_TOKENIZER("qwen3");
  auto bad_id = run("tokenize --decode --model " + tokenizer_dir("qwen3") + " <<< '1 999999999'");
  EXPECT_EQ(bad_id.exit_code, 1);
  EXPECT_NE(bad_id.output.find("999999999"), std::string::npos) << bad_id.output;
  auto bad_chat = run("tokenize --chat --model " + tokenizer_dir("qwen3") +
                      " <<< '[{\"role\":\"bot\",\"content\":\"hi\"}]'");
  EXPECT_EQ(bad_chat.exit_code, 1);
  EXPECT_NE(bad_chat.output.find("/messages/0/role"), std::string::npos) << bad_chat.output;
}

TEST(Cli, PromptTextNeedsATokenizer) {
  auto r = run("generate --model " + fixture("llama-gqa") + " --prompt 'hello'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("no tokenizer.json"), std::string::npos) << r.output;
  auto both = run("generate --model " + fixture("llama-gqa") + " --prompt hi --tokens 1");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.output.find("exactly one of"), std::string::npos) << both.output;
}

}  // namespace
