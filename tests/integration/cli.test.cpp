// End-to-end tests of the agentrt executable: exit codes, output and error messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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

// The greedy logprobs of 6 tokens of tiny-calc; `flags` added to the command line.
std::vector<double> greedy_logprobs(const std::string& flags) {
  auto r = run("generate --model " + std::string(AGENTRT_SOURCE_DIR) +
               "/models/tiny-calc --prompt 'What is 12 + 30?' --max-tokens 6 --temperature 0"
               " --logprobs 0 --json " +
               flags + " 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<double> out;
  if (r.exit_code != 0) return out;
  const auto j = nlohmann::json::parse(r.output);
  for (const auto& step : j["logprobs"])
    out.push_back(step["logprob"].get<double>());
  return out;
}

// --cpu-precision bf16 rounds activations to bf16 where the CPU has AVX512-BF16 (`agentrt
// info` says so), which moves the logprobs a little; exact (the default) does not; elsewhere
// both compute exactly. Anything but exact or bf16 is a usage error.
TEST(Cli, CpuPrecisionPicksTheKernels) {
  if (std::getenv("AGENTRT_CPU_ISA") != nullptr) GTEST_SKIP() << "AGENTRT_CPU_ISA overrides it";
  const auto info = run("info");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  ASSERT_NE(info.output.find("cpu: "), std::string::npos) << info.output;
  const bool bf16 = info.output.find("avx512bf16 with bf16") != std::string::npos;
  const auto exact = greedy_logprobs("--cpu-precision exact");
  const auto rounded = greedy_logprobs("--cpu-precision bf16");
  EXPECT_EQ(greedy_logprobs(""), exact);  // the default, and deterministic
  ASSERT_EQ(exact.size(), 6u);
  ASSERT_EQ(rounded.size(), 6u);
  double largest = 0;
  for (std::size_t i = 0; i < exact.size(); ++i)
    largest = std::max(largest, std::abs(exact[i] - rounded[i]));
  if (bf16) {
    EXPECT_GT(largest, 1e-5) << "bf16 activations should move the logprobs";
    EXPECT_LT(largest, 0.05) << "but only a little";
  } else {
    EXPECT_EQ(largest, 0.0);
  }
  const auto bad = run("generate --cpu-precision fp8 --tokens 1,2");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--cpu-precision"), std::string::npos) << bad.output;
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
