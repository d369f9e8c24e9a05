// End-to-end tests of the agentrt executable: exit codes, output and error messages.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>

namespace {

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

RunResult run(const std::string& args) {
  std::string cmd = std::string(AGENTRT_BIN) + " " + args + " 2>&1";
  RunResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
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
  EXPECT_NE(r.output.find("top_p"), std::string::npos) << r.output;
}

TEST(Cli, InfoPrintsTheFingerprint) {
  auto r = run("info --model " + fixture("qwen2-bias"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Qwen2ForCausalLM"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fingerprint"), std::string::npos) << r.output;
}

}  // namespace
