// A model whose chat template only the Jinja interpreter renders, end to end: tiny-calc's
// weights and tokenizer with its Qwen template rewritten so that no hand-written family
// matches (the <|im_start|> marker built by concatenation, the text it renders unchanged).
// The runtime accepts it, the agent's turns go through the Jinja path (next_prompt) with
// <tool_call> parsing detected from the template, and tiny-calc still solves the problem
// with the calculator. A config without a chat_template is refused naming the file.
#include <stdlib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "actors/runtime.h"
#include "engine/chat/conversation.h"

namespace agentrt::actors {
namespace {

namespace fs = std::filesystem;

struct ModelCopy {
  // tiny-calc with tokenizer_config.json replaced by `config` (the rest linked).
  explicit ModelCopy(const chat::Json& config) {
    std::string pattern = (fs::temp_directory_path() / "agentrt-jinja-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir = pattern;
    const fs::path src = fs::path(AGENTRT_SOURCE_DIR) / "models/tiny-calc";
    for (const char* f :
         {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"})
      fs::create_symlink(src / f, dir / f);
    std::ofstream(dir / "tokenizer_config.json") << config.dump();
  }
  ~ModelCopy() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path dir;
};

chat::Json tiny_calc_config() {
  std::ifstream in(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc/tokenizer_config.json");
  return chat::Json::parse(in);
}

RuntimeOptions options(const fs::path& dir) {
  RuntimeOptions o;
  o.model_dir = dir.string();
  o.kv_blocks = 256;
  o.cpu_threads = 2;
  o.actor_threads = 2;
  o.tools.push_back(ToolConfig{});  // calculator
  return o;
}

AgentSpec solver() {
  AgentSpec a;
  a.name = "solver";
  a.system_prompt =
      "You solve arithmetic word problems. Use the calculator tool for every operation, then "
      "give the final line as 'Answer: N'.";
  a.tools = {"calculator"};
  a.sampling.temperature = 0.0f;
  a.sampling.max_tokens = 96;
  a.max_turns = 6;
  return a;
}

const char* kProblem =
    "Sam has 13 stamps. Kate has 7 more stamps than Sam. Rosa has 4 coins. How many stamps "
    "does Kate have?";

// The Jinja path gives the same greedy run as the hand-written Qwen path: same prompt
// tokens, calls parsed alike, each turn appended (the re-render extends what the KV holds)
// or, where not, prefilled anew from the same tokens.
TEST(RuntimeJinja, AgentRunsOnATemplateNoFamilyMatches) {
  chat::Json config = tiny_calc_config();
  std::string t = config["chat_template"].get<std::string>();
  for (std::size_t p; (p = t.find("'<|im_start|>")) != std::string::npos;)
    t.replace(p, 13, "'<|im_' + 'start|>");
  ASSERT_EQ(t.find("<|im_start|>"), std::string::npos);
  config["chat_template"] = t;
  ModelCopy model(config);
  RuntimeOptions o = options(model.dir);
  std::atomic<int> generates{0};
  o.on_generate = [&](const EngineRequest&) { ++generates; };
  auto rt = Runtime::create(o);
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();
  EXPECT_FALSE((*rt)->chat_template().family().has_value());
  EXPECT_EQ((*rt)->chat_template().tool_call_format(), chat::ToolCallFormat::hermes);
  auto r = (*rt)->run_agent(solver(), kProblem);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(r->turns, 2) << r->output;
  EXPECT_GE(r->tool_calls, 1);
  EXPECT_EQ(r->stop, StopReason::final_answer);
  EXPECT_NE(r->output.find("Answer: 20"), std::string::npos) << r->output;
  // enable_thinking false puts an empty <think></think> into the generation prompt, which
  // Qwen's template drops from the history it renders back: each tool round is prefilled
  // anew (the fast path appends instead, keeping it); the run is the same.
  EXPECT_EQ(generates.load(), r->turns);

  auto fast = Runtime::create(options(fs::path(AGENTRT_SOURCE_DIR) / "models/tiny-calc"));
  ASSERT_TRUE(fast.ok());
  ASSERT_TRUE((*fast)->chat_template().family().has_value());
  auto f = (*fast)->run_agent(solver(), kProblem);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(r->output, f->output);
  EXPECT_EQ(r->turns, f->turns);
  EXPECT_EQ(r->generated_tokens, f->generated_tokens);
  EXPECT_EQ((*rt)->agent_prefix_tokens(solver()).value(),
            (*fast)->agent_prefix_tokens(solver()).value());
}

// A template that renders a call back other than the model wrote it (two spaces after
// "name":): the held tokens are not a prefix of the re-render, so each tool round is
// prefilled anew as a new engine request, and the run still completes.
// Without the think block the re-render extends what the paused sequence holds: every
// tool round is appended to it (one engine request for the whole run).
TEST(RuntimeJinja, TurnsAppendWhenTheReRenderExtendsTheHeldTokens) {
  chat::Json config = tiny_calc_config();
  std::string t = config["chat_template"].get<std::string>();
  for (std::size_t p; (p = t.find("'<|im_start|>")) != std::string::npos;)
    t.replace(p, 13, "'<|im_' + 'start|>");
  config["chat_template"] = t;
  ModelCopy model(config);
  RuntimeOptions o = options(model.dir);
  std::atomic<int> generates{0};
  o.on_generate = [&](const EngineRequest&) { ++generates; };
  auto rt = Runtime::create(o);
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();
  AgentSpec a = solver();
  a.enable_thinking = std::nullopt;
  a.max_turns = 3;
  auto r = (*rt)->run_agent(a, kProblem);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(r->tool_calls, 1);
  EXPECT_GE(r->turns, 2);
  EXPECT_EQ(generates.load(), 1);
}

TEST(RuntimeJinja, ReplyRenderedBackDifferentlyIsPrefilledAnew) {
  chat::Json config = tiny_calc_config();
  std::string t = config["chat_template"].get<std::string>();
  for (std::size_t p; (p = t.find("'<|im_start|>")) != std::string::npos;)
    t.replace(p, 13, "'<|im_' + 'start|>");
  const std::string call = "{\"name\": \"' }}";
  const std::size_t at = t.find(call);
  ASSERT_NE(at, std::string::npos);
  t.replace(at, call.size(), "{\"name\":  \"' }}");
  config["chat_template"] = t;
  ModelCopy model(config);
  RuntimeOptions o = options(model.dir);
  std::atomic<int> generates{0};
  o.on_generate = [&](const EngineRequest&) { ++generates; };
  auto rt = Runtime::create(o);
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();
  auto r = (*rt)->run_agent(solver(), kProblem);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(r->tool_calls, 1);
  EXPECT_GE(r->turns, 2);
  EXPECT_EQ(generates.load(), r->turns) << "one engine request per turn: each was prefilled anew";
  EXPECT_GT(r->cached_tokens, 0) << "the prefix cache serves the unchanged start";
}

TEST(RuntimeJinja, PlainTemplateRunsAgentsWithoutTools) {
  chat::Json config = tiny_calc_config();
  config["chat_template"] =
      "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
      "{% if add_generation_prompt %}assistant:{% endif %}";
  ModelCopy model(config);
  auto rt = Runtime::create(options(model.dir));
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();
  EXPECT_EQ((*rt)->chat_template().tool_call_format(), chat::ToolCallFormat::none);
  AgentSpec a;
  a.name = "plain";
  a.sampling.temperature = 0.0f;
  a.sampling.max_tokens = 8;
  auto r = (*rt)->run_agent(a, "Hi");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->turns, 1);
  EXPECT_GE(r->generated_tokens, 1);
  a.tools = {"calculator"};
  auto refused = (*rt)->run_agent(a, "Hi");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("has no tool-call format"), std::string::npos)
      << refused.error().message;
}

TEST(RuntimeJinja, ConfigWithoutChatTemplateIsRefusedNamingTheFile) {
  chat::Json config = tiny_calc_config();
  config.erase("chat_template");
  ModelCopy model(config);
  auto rt = Runtime::create(options(model.dir));
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.error().message,
            (model.dir / "tokenizer_config.json").string() + ": no chat_template");
}

}  // namespace
}  // namespace agentrt::actors
