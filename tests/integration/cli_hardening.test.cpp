// End-to-end tests of the CLI's edges (issue 13): exit codes of malformed command lines,
// numeric flag bounds, inputs from special files, invalid UTF-8 in --json output, SIGTERM,
// and paths that are symlink loops or FIFOs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/child_process.h"
#include "tests/integration/run_agentrt.h"

namespace {

namespace fs = std::filesystem;
using agentrt::testing::RunResult;

RunResult agentrt(const std::string& args) {
  return agentrt::testing::run_agentrt(args);
}

std::string example(const std::string& name) {
  return std::string(AGENTRT_SOURCE_DIR) + "/workflows/examples/" + name;
}

std::string fixture(const std::string& name) {
  return std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/models/" + name;
}

// A directory of this test's own, removed afterwards.
class CliEdges : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agentrt_cli_edges_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

const std::string kGqa = " --model " + fixture("llama-gqa") + " --tokens 1,2 ";

// --- Exit codes -------------------------------------------------------------------------

TEST(CliExitCodes, MalformedCommandLinesExitTwo) {
  for (const std::string& args : std::vector<std::string>{
           "generate --max-tokens abc" + kGqa, "generate --no-such-flag" + kGqa, "no-such-command",
           "", "run --json=maybe " + example("single_agent.yaml"), "generate --max-tokens",
           "validate a.yaml b.yaml", "generate --backend tpu" + kGqa}) {
    auto r = agentrt(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
  }
}

TEST(CliExitCodes, HelpAndVersionExitZero) {
  for (const char* args : {"--help", "--version", "generate --help", "run --help"}) {
    auto r = agentrt(args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
  }
  EXPECT_NE(agentrt("--version").output.find("agentrt 0.1.0"), std::string::npos);
}

// --- Numeric flag bounds ----------------------------------------------------------------

TEST(CliFlagBounds, GenerateRefusesOutOfBoundsValuesNamingTheFlag) {
  const std::pair<std::string, std::string> cases[] = {
      {"--max-tokens 2147483647", "--max-tokens: must be an integer in [1, 1048576]"},
      {"--max-tokens 0", "--max-tokens: must be an integer in [1, 1048576]"},
      {"--max-tokens 99999999999999999999", "--max-tokens: must be an integer"},
      {"--kv-blocks 300000000", "--kv-blocks: must be an integer in [0, 4194304]"},
      {"--threads 100000", "--threads: must be an integer in [0, "},
      {"--threads -1", "--threads: must be an integer in [0, "},
      {"--seed -1", "--seed: must be an integer in [0, 18446744073709551615]"},
      {"--seed 18446744073709551616", "--seed: must be an integer"},
      {"--temperature nan", "--temperature: must be a finite number in [0, 100]"},
      {"--temperature inf", "--temperature: must be a finite number in [0, 100]"},
      {"--top-p 0", "--top-p: must be a finite number in (0, 1]"},
      {"--min-p -0.5", "--min-p: must be a finite number in [0, 1]"},
      {"--top-k -1", "--top-k: must be an integer in [0, 1048576]"},
      {"--logprobs 1000", "--logprobs: must be an integer in [0, 20]"},
      {"--repetition-penalty 0", "--repetition-penalty: must be a finite number in (0, 100]"},
      {"--presence-penalty 9", "--presence-penalty: must be a finite number in [-2, 2]"},
      {"--frequency-penalty nan", "--frequency-penalty: must be a finite number in [-2, 2]"},
      {"--stop-token-id -3", "--stop-token-id: must be an integer in [0, 2147483647]"},
  };
  for (const auto& [flags, message] : cases) {
    auto r = agentrt("generate" + kGqa + flags);
    EXPECT_EQ(r.exit_code, 2) << flags << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << flags << "\n" << r.output;
  }
}

TEST(CliFlagBounds, GenerateAcceptsTheEdgesOfTheRanges) {
  auto r = agentrt("generate" + kGqa +
                   "--max-tokens 2 --seed 18446744073709551615 --temperature 0.5 --top-p 1"
                   " --top-k 0 --logprobs 20 --threads 1 --kv-blocks 8 --json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["tokens"].size(), 2u);
  EXPECT_EQ(j["logprobs"][0]["top"].size(), 20u);
}

// In bounds, but more KV memory than the engine allows: 4 Mi blocks of tiny-calc's 128 KiB
// are 512 GiB, over half the RAM of any machine with less than 1 TiB. Refused before
// allocating, naming the flag.
TEST(CliFlagBounds, AKvPoolOverTheMemoryLimitNamesTheFlag) {
  auto r = agentrt("generate --tokens 1,2 --max-tokens 2 --kv-blocks 4194304");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--kv-blocks: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("exceed the KV memory limit"), std::string::npos) << r.output;
}

TEST(CliFlagBounds, RunRefusesOutOfBoundsResources) {
  auto threads = agentrt("run " + example("single_agent.yaml") + " --threads 100000");
  EXPECT_EQ(threads.exit_code, 2) << threads.output;
  EXPECT_NE(threads.output.find("--threads: must be an integer in [0, "), std::string::npos)
      << threads.output;
  auto blocks = agentrt("run " + example("single_agent.yaml") + " --kv-blocks 300000000");
  EXPECT_EQ(blocks.exit_code, 2) << blocks.output;
  EXPECT_NE(blocks.output.find("--kv-blocks: must be an integer in [0, 4194304]"),
            std::string::npos)
      << blocks.output;
}

// --- Inputs from files ------------------------------------------------------------------

TEST_F(CliEdges, InputsFromDevicesAndFifosAreRefusedBeforeReading) {
  const std::string wf = example("single_agent.yaml");
  for (const std::string cmd : {"run", "validate"}) {
    auto zero = agentrt(cmd + " " + wf + " --input question=@/dev/zero");
    EXPECT_EQ(zero.exit_code, 2) << zero.output;
    EXPECT_NE(zero.output.find("/dev/zero: a character device, not a regular file"),
              std::string::npos)
        << zero.output;
  }
  ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
  auto fifo = agentrt("run " + wf + " --input question=@" + path("fifo"));
  EXPECT_EQ(fifo.exit_code, 2) << fifo.output;
  EXPECT_NE(fifo.output.find("a FIFO, not a regular file"), std::string::npos) << fifo.output;
  for (const std::string flag : {"--prompt", "--chat"}) {
    auto r = agentrt("generate " + flag + " @/dev/zero");
    EXPECT_NE(r.exit_code, 0) << flag << "\n" << r.output;
    EXPECT_NE(r.output.find(flag + ": /dev/zero: a character device"), std::string::npos)
        << flag << "\n"
        << r.output;
  }
  auto stdin_zero = agentrt("tokenize < /dev/zero");
  EXPECT_EQ(stdin_zero.exit_code, 2) << stdin_zero.output;
  EXPECT_NE(stdin_zero.output.find("stdin: more than 67108864 bytes"), std::string::npos)
      << stdin_zero.output;
}

TEST_F(CliEdges, AnInputFileLargerThanTheCapIsRefused) {
  const auto big = path("big.txt");
  {
    std::ofstream out(big, std::ios::binary);
    out.seekp((64 << 20) + 1);  // a sparse file one byte past kMaxInputFileBytes
    out.put('x');
  }
  auto r = agentrt("validate " + example("single_agent.yaml") + " --input question=@" + big);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("file too large"), std::string::npos) << r.output;
  EXPECT_LT(r.output.size(), 1000u) << r.output.substr(0, 1000);
}

// A type error on an input read from a file shows only the start of the file.
TEST_F(CliEdges, ATypeErrorDoesNotEchoTheWholeInputFile) {
  const auto secret = write("secret.txt", "s3cr3t-" + std::string(100000, 'z') + "-tail");
  auto r = agentrt("validate " + example("best_of_majority.yaml") + " --input n=@" + secret);
  EXPECT_EQ(r.exit_code, 1) << r.output.substr(0, 2000);
  EXPECT_NE(r.output.find("input 'n' is an int"), std::string::npos) << r.output.substr(0, 2000);
  EXPECT_EQ(r.output.find("-tail"), std::string::npos);
  EXPECT_LT(r.output.size(), 2000u);
}

TEST_F(CliEdges, AHugeMalformedValueIsCutInTheMessage) {
  const std::string huge(50000, 'q');
  auto input = agentrt("validate " + example("single_agent.yaml") + " --input " + huge);
  EXPECT_EQ(input.exit_code, 2);
  EXPECT_LT(input.output.size(), 1000u);
  EXPECT_NE(input.output.find("(50000 bytes)"), std::string::npos) << input.output;
  auto tokens = agentrt("generate --model " + fixture("llama-gqa") + " --tokens 1," + huge);
  EXPECT_EQ(tokens.exit_code, 2);
  EXPECT_LT(tokens.output.size(), 1000u);
}

// --- Paths that are symlink loops or FIFOs ----------------------------------------------

TEST_F(CliEdges, SymlinkLoopsAndFifosAreNamedNotInternalErrors) {
  fs::create_symlink(path("loop_b"), path("loop_a"));
  fs::create_symlink(path("loop_a"), path("loop_b"));
  ASSERT_EQ(::mkfifo(path("wf_fifo").c_str(), 0600), 0);
  for (const std::string cmd : {"run", "validate"}) {
    auto loop = agentrt(cmd + " " + path("loop_a"));
    EXPECT_EQ(loop.exit_code, 2) << loop.output;
    EXPECT_NE(loop.output.find("too many levels of symbolic links"), std::string::npos)
        << loop.output;
    auto fifo = agentrt(cmd + " " + path("wf_fifo"));
    EXPECT_EQ(fifo.exit_code, 2) << fifo.output;
    EXPECT_NE(fifo.output.find("a FIFO, not a regular file"), std::string::npos) << fifo.output;
  }
  for (const std::string& args : std::vector<std::string>{
           "generate --tokens 1,2 --model " + path("loop_a"),
           "generate --prompt hi --model " + path("loop_a"), "info --model " + path("loop_a"),
           "run " + example("single_agent.yaml") + " --model " + path("loop_a")}) {
    auto r = agentrt(args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    EXPECT_EQ(r.output.find("internal error"), std::string::npos) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(path("loop_a")), std::string::npos) << args << "\n" << r.output;
  }
}

// --- Invalid UTF-8 in --json output -----------------------------------------------------

TEST_F(CliEdges, InvalidUtf8InAFinishedRunStillGivesItsJson) {
  // A raw 0xFF byte in the name (YAML's "\xff" escape would be U+00FF, valid UTF-8).
  const auto wf = write("utf8.yaml",
                        "name: bad \xff name\n"
                        R"(agents:
  solver:
    sampling: { temperature: 0, max_tokens: 8 }
inputs:
  question: { type: string }
steps:
  - id: solve
    agent: solver
    input: "{{ inputs.question }}"
outputs:
  echo: "{{ inputs.question }}"
)");
  auto r = agentrt("run --quiet --json " + wf + " --input $'question=What is 2+2?\\xff\\xfe\\xc3'" +
                   " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(r.output)) << r.output;
  EXPECT_TRUE(j["ok"].get<bool>());
  // Each invalid byte became U+FFFD.
  EXPECT_EQ(j["outputs"]["echo"], "What is 2+2?\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(j["steps"][0]["state"], "done");
  // Text output survives too.
  auto text = agentrt("run --quiet " + wf + " --input $'question=2+2\\xff' 2>&1");
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("echo: 2+2\xff"), std::string::npos) << text.output;
}

TEST_F(CliEdges, InvalidUtf8InPathsStillGivesJson) {
  const std::string wf_path = path("wf\xff.yaml");
  fs::copy_file(example("single_agent.yaml"), wf_path);
  auto v = agentrt("validate --json " + agentrt::testing::quote(wf_path));
  ASSERT_EQ(v.exit_code, 0) << v.output;
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(v.output)) << v.output;
  EXPECT_TRUE(j["valid"].get<bool>());
  const std::string model = path("model\xff");
  fs::create_directory_symlink(fixture("llama-gqa"), model);
  auto g = agentrt("generate --json --max-tokens 2 --tokens 1,2 --model " +
                   agentrt::testing::quote(model) + " 2>/dev/null");
  ASSERT_EQ(g.exit_code, 0) << g.output;
  ASSERT_NO_THROW(j = nlohmann::json::parse(g.output)) << g.output;
  EXPECT_EQ(j["tokens"].size(), 2u);
}

// --- SIGTERM ----------------------------------------------------------------------------

// SIGTERM once the first best-of sample has finished: the run cancels like Ctrl-C, exits
// 130, and --json still lists the step with the samples that had finished.
TEST_F(CliEdges, SigtermCancelsARunAndKeepsFinishedSamples) {
  const auto out = path("out.json");
  agentrt::testing::AgentrtProcess p(
      {"run", example("best_of_majority.yaml"), "--input", "n=128", "--json"}, out);
  ASSERT_TRUE(p.started());
  ASSERT_TRUE(p.wait_for_line("finished (1/128)")) << p.stderr_text();
  p.send(SIGTERM);
  const int code = p.wait();
  EXPECT_EQ(code, 130) << p.stderr_text();
  EXPECT_NE(p.stderr_text().find("agentrt run: cancelled"), std::string::npos) << p.stderr_text();
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(text.str())) << text.str();
  EXPECT_FALSE(j["ok"].get<bool>());
  EXPECT_EQ(j["error"], "cancelled");
  ASSERT_EQ(j["steps"].size(), 1u);
  EXPECT_EQ(j["steps"][0]["state"], "cancelled");
  int finished = 0;
  for (const auto& s : j["steps"][0]["samples"])
    finished += s["finished"].get<bool>() ? 1 : 0;
  EXPECT_GE(finished, 1) << j["steps"][0].dump();
  EXPECT_LT(finished, 128) << "the run ended before SIGTERM cancelled it";
}

}  // namespace
