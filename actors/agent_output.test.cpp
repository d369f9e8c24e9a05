// The agent's structured output (AgentSpec::output_constraint) and its tool-call records, on
// the CPU with the embedded model (tiny-calc): without tools the answer is generated under
// the constraint; with tools a free final answer gets one more, constrained turn; each call
// is recorded with its result, duration and attempts.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "actors/calculator.h"
#include "actors/runtime.h"
#include "engine/grammar/schema_match.h"

namespace agentrt::actors {
namespace {

using namespace std::chrono_literals;

const char* kSystem =
    "You solve arithmetic word problems. Use the calculator tool for every operation, then "
    "give the final line as 'Answer: N'.";
const char* kProblem =
    "Ali has 24 apples. Ben has half as many apples as Ali. How many apples does Ben have?";

RuntimeOptions options(bool calculator) {
  RuntimeOptions o;
  o.model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  o.kv_blocks = 256;
  o.cpu_threads = 2;
  o.actor_threads = 2;
  if (calculator) o.tools.push_back(ToolConfig{});
  return o;
}

AgentSpec solver() {
  AgentSpec a;
  a.name = "solver";
  a.system_prompt = kSystem;
  a.tools = {"calculator"};
  a.sampling.temperature = 0.0f;
  a.sampling.max_tokens = 96;
  a.max_turns = 4;
  return a;
}

std::shared_ptr<const grammar::JsonSchemaConstraint> answer_schema(const Runtime& rt) {
  auto vocab = rt.token_vocabulary();
  EXPECT_TRUE(vocab.ok());
  auto c = grammar::JsonSchemaConstraint::make(
      nlohmann::ordered_json::parse(
          R"({"type": "object", "properties": {"answer": {"type": "integer"}},
              "required": ["answer"]})"),
      *vocab);
  EXPECT_TRUE(c.ok()) << c.error().to_string();
  return *c;
}

// The calculator's definition (tiny-calc calls only that one); every call fails as a transient I/O
// error.
class DownCalculator final : public Tool {
 public:
  DownCalculator() {
    spec_.name = "calculator";
    spec_.description =
        "Evaluate an integer arithmetic expression with + - * / and parentheses. Division "
        "must be exact.";
    spec_.parameters = Json::parse(R"json({"type": "object", "properties": {"expression":
        {"type": "string", "description": "The expression, e.g. 12 * (3 + 4)"}},
        "required": ["expression"]})json");
    spec_.timeout = 2000ms;
  }
  const ToolSpec& spec() const override { return spec_; }
  Result<std::string> invoke(const Json&) override {
    std::this_thread::sleep_for(2ms);
    return make_error(ErrorCode::io, "calculator backend unreachable");
  }

 private:
  ToolSpec spec_;
};

TEST(AgentOutput, ToolCallsAreRecordedWithDurationAndAttempts) {
  auto rt = Runtime::create(options(false));
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();
  ASSERT_TRUE(
      (*rt)->add_tool(make_limited_tool(std::make_shared<DownCalculator>(), {2, 1ms, 0})).ok());
  std::mutex mu;
  std::vector<double> progress_ms;
  auto r = (*rt)->run_agent(solver(), kProblem, [&](const Progress& p) {
    std::lock_guard lk(mu);
    if (p.kind == ProgressKind::tool_result) progress_ms.push_back(p.duration_ms);
  });
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_GE(r->tool_calls, 1) << "tiny-calc calls the calculator";
  ASSERT_EQ(r->tool_records.size(), static_cast<std::size_t>(r->tool_calls));
  const ToolCallRecord& rec = r->tool_records[0];
  EXPECT_EQ(rec.name, "calculator");
  EXPECT_TRUE(Json::parse(rec.arguments).contains("expression")) << rec.arguments;
  EXPECT_FALSE(rec.ok);
  EXPECT_EQ(rec.result, "error: after 3 attempts: calculator backend unreachable");
  EXPECT_EQ(rec.attempts, 3);
  EXPECT_GE(rec.duration_ms, 6.0);  // 3 attempts of 2 ms, backoffs of 1 and 2 ms
  EXPECT_EQ(rec.turn, 1);
  std::lock_guard lk(mu);
  ASSERT_EQ(progress_ms.size(), r->tool_records.size());
  EXPECT_DOUBLE_EQ(progress_ms[0], rec.duration_ms);
}

TEST(AgentOutput, WithoutToolsTheAnswerIsConstrained) {
  auto rt = Runtime::create(options(false));
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();
  AgentSpec a = solver();
  a.tools.clear();
  a.output_constraint = answer_schema(**rt);
  auto r = (*rt)->run_agent(a, kProblem);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->turns, 1);
  auto v = grammar::parse_matching(a.output_constraint->grammar(), r->output);
  EXPECT_TRUE(v.ok()) << r->output;
}

TEST(AgentOutput, WithToolsAFreeAnswerGetsOneConstrainedTurn) {
  auto rt = Runtime::create(options(true));
  ASSERT_TRUE(rt.ok()) << rt.error().to_string();
  AgentSpec a = solver();
  a.output_constraint = answer_schema(**rt);
  a.output_schema = R"({"type":"object","properties":{"answer":{"type":"integer"}}})";
  auto r = (*rt)->run_agent(a, kProblem);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->stop, StopReason::final_answer);
  ASSERT_GE(r->tool_calls, 1);
  auto v = grammar::parse_matching(a.output_constraint->grammar(), r->output);
  ASSERT_TRUE(v.ok()) << r->output;
  // The free answer ("Answer: 12"), the request for JSON, the constrained answer.
  const auto& m = r->conversation.messages;
  ASSERT_GE(m.size(), 3u);
  EXPECT_EQ(m[m.size() - 2].role, chat::Role::user);
  EXPECT_EQ(m[m.size() - 2].content.rfind("Now give only your final answer, as JSON matching "
                                          "this JSON schema:\n" +
                                              a.output_schema,
                                          0),
            0u)
      << m[m.size() - 2].content;
  EXPECT_EQ(m[m.size() - 3].role, chat::Role::assistant);
  EXPECT_NE(m[m.size() - 3].content.find("Answer:"), std::string::npos);
  EXPECT_EQ(m.back().content, r->output);
  // Without an output constraint the same run ends at the free answer.
  auto plain = (*rt)->run_agent(solver(), kProblem);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->turns + 1, r->turns);
}

}  // namespace
}  // namespace agentrt::actors
