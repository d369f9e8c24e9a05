// End-to-end tests of the engine's edges (issue 13) through `agentrt generate`: KV pools
// refused before allocation, prompts past the context refused before the pool is sized,
// non-finite weights refused at load, unreadable model files named, tiny temperatures greedy.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/integration/run_agentrt.h"

namespace {

namespace fs = std::filesystem;
using agentrt::testing::RunResult;

RunResult agentrt(const std::string& args) {
  return agentrt::testing::run_agentrt(args);
}

const std::string kTinyCalc = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
const std::string kGqa = std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/models/llama-gqa";

class EngineEdges : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agentrt_engine_edges_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

void expect_clean_failure(const RunResult& r, int exit_code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, exit_code) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
}

// 4M blocks of tiny-calc's 128 KiB are 512 GiB: refused before anything is allocated.
TEST(EngineEdgesCli, KvPoolOverTheMemoryLimitIsRefused) {
  expect_clean_failure(
      agentrt("generate --model " + kTinyCalc + " --tokens 1,2 --kv-blocks 4194304"), 1,
      "4194304 KV blocks of 131072 bytes (549755813888 bytes) exceed the KV memory limit");
}

// A prompt longer than the context is refused before the pool is sized from it.
TEST_F(EngineEdges, PromptPastTheContextIsRefusedFirst) {
  const fs::path prompt = dir_ / "long.txt";
  {
    std::ofstream out(prompt);
    for (int i = 0; i < 5000; ++i)
      out << "hello ";
  }
  expect_clean_failure(agentrt("generate --model " + kTinyCalc + " --prompt @" + prompt.string() +
                               " --max-tokens 1000000"),
                       2, "leaves no room in the model's context of 4096 tokens");
}

// A large max_tokens is capped at the context, not allocated.
TEST(EngineEdgesCli, HugeMaxTokensRunsToTheContext) {
  const RunResult r = agentrt("generate --model " + kGqa +
                              " --tokens 1,2 --max-tokens 1000000 --ignore-eos --json");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"finish_reason\":\"context_full\""), std::string::npos) << r.output;
}

// A NaN in a norm (every element of a small tensor is checked) refuses the model at load.
TEST_F(EngineEdges, NanWeightsAreRefusedAtLoad) {
  const fs::path model = dir_ / "nan-model";
  fs::create_directories(model);
  fs::copy_file(kGqa + "/config.json", model / "config.json");
  std::ifstream in(kGqa + "/model.safetensors", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const std::string header = bytes.substr(8, header_len);
  // model.norm.weight: F32 [64]; its offsets follow its name in the header.
  const auto at = header.find("\"model.norm.weight\"");
  ASSERT_NE(at, std::string::npos);
  const auto offsets = header.find("\"data_offsets\":[", at);
  ASSERT_NE(offsets, std::string::npos);
  const std::size_t begin = std::stoull(header.substr(offsets + 16));
  const std::uint32_t nan_bits = 0x7fc00000u;
  std::memcpy(bytes.data() + 8 + header_len + begin + 5 * 4, &nan_bits, 4);
  std::ofstream(model / "model.safetensors", std::ios::binary) << bytes;
  expect_clean_failure(agentrt("generate --model " + model.string() + " --tokens 1,2"), 1,
                       "model.safetensors: tensor 'model.norm.weight': element 5 is NaN");
}

TEST_F(EngineEdges, ModelDirThatIsASymlinkLoopIsNamed) {
  const fs::path loop = dir_ / "loop";
  fs::create_symlink(loop, loop);
  const RunResult r = agentrt("generate --model " + loop.string() + " --tokens 1,2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("too many levels of symbolic links"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
}

// 1e-38 used to always pick the last token id; now it is greedy.
TEST(EngineEdgesCli, TinyTemperatureIsGreedy) {
  const std::string base = "generate --model " + kGqa + " --tokens 1,2,3 --max-tokens 8 --json";
  const RunResult greedy = agentrt(base + " --temperature 0");
  const RunResult tiny = agentrt(base + " --temperature 1e-38 --seed 3");
  ASSERT_EQ(greedy.exit_code, 0) << greedy.output;
  ASSERT_EQ(tiny.exit_code, 0) << tiny.output;
  auto tokens = [](const std::string& out) {
    const auto at = out.find("\"tokens\":");
    return out.substr(at, out.find(']', at) - at);
  };
  EXPECT_EQ(tokens(tiny.output), tokens(greedy.output));
}

// A NaN between the sampled elements of a large tensor: the default check misses it at load
// (the run then fails on non-finite logits); --check-weights full names it at load.
TEST_F(EngineEdges, CheckWeightsFullFindsWhatTheSampleMisses) {
  const fs::path model = dir_ / "nan-model";
  fs::copy(kTinyCalc, model, fs::copy_options::recursive);
  std::ifstream in(kTinyCalc + "/model.safetensors", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const std::string header = bytes.substr(8, header_len);
  // model.layers.0.mlp.down_proj.weight: BF16 [256, 768], sampled every 48th element.
  const auto at = header.find("\"model.layers.0.mlp.down_proj.weight\"");
  ASSERT_NE(at, std::string::npos);
  const auto offsets = header.find("\"data_offsets\":[", at);
  ASSERT_NE(offsets, std::string::npos);
  const std::size_t begin = std::stoull(header.substr(offsets + 16));
  const std::uint16_t nan_bits = 0x7fc0u;
  std::memcpy(bytes.data() + 8 + header_len + begin + 1 * 2, &nan_bits, 2);
  std::ofstream(model / "model.safetensors", std::ios::binary) << bytes;
  const std::string base = "generate --model " + model.string() + " --tokens 1,2 --max-tokens 2";
  const std::string named = "tensor 'model.layers.0.mlp.down_proj.weight': element 1 is NaN";
  const RunResult sampled = agentrt(base);
  EXPECT_EQ(sampled.output.find(named), std::string::npos) << sampled.output;
  expect_clean_failure(agentrt(base + " --check-weights full"), 1, named);
  EXPECT_EQ(agentrt(base + " --check-weights most").exit_code, 2);
  EXPECT_EQ(agentrt(base + " --check-weights none").output.find(named), std::string::npos);
}

}  // namespace
