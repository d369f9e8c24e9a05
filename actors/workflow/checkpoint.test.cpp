// Checkpoint JSON: exact round trips, and errors that name the JSON pointer.
#include "actors/workflow/checkpoint.h"

#include <gtest/gtest.h>

namespace agentrt::actors::workflow {
namespace {

SampleSummary sample(int unit, int index) {
  SampleSummary s;
  s.finished = index != 1;
  if (index != 2) s.answer = "4" + std::to_string(index);
  s.tokens = 1000000000000LL + index;
  s.tool_calls = 2;
  s.error = index == 1 ? "agent 'a': cancelled" : "";
  s.messages =
      R"([{"role":"user","content":"2 + 2?"},{"role":"assistant","content":"\u00e9 \ud83d\ude00"}])";
  s.unit = unit;
  s.sample = index;
  if (index == 0)
    s.tool_records.push_back({"calculator", R"({"expression":"2 + 2"})", index == 0,
                              "error: after 3 attempts: \u00e9", 0.1 + 0.2, 3, 2});
  return s;
}

StepResult step_result() {
  StepResult r;
  r.status.id = "solve";
  r.status.kind = workflows::StepKind::map;
  r.status.state = StepState::done;
  r.status.activity = "done";
  r.status.tokens = 123;
  r.status.tool_calls = 4;
  r.status.elapsed = 0.1 + 0.2;  // not representable in short decimal: exact round trip
  r.status.units_total = 3;
  r.status.units_done = 3;
  r.status.samples_total = 6;
  r.status.samples_done = 5;
  r.output = workflows::Value(std::vector<std::string>{"a", "", "line\nbreak \"q\""});
  r.fields["answer"] = workflows::Value(std::vector<std::string>{"4", "5", ""});
  r.fields["a/b~c"] = workflows::Value("x");
  for (int u = 0; u < 3; ++u)
    for (int i = 0; i < 2; ++i)
      r.samples.push_back(sample(u, i + (u == 2)));
  return r;
}

void expect_equal(const SampleSummary& a, const SampleSummary& b) {
  EXPECT_EQ(a.finished, b.finished);
  EXPECT_EQ(a.answer, b.answer);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.tool_calls, b.tool_calls);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.messages, b.messages);
  EXPECT_EQ(a.unit, b.unit);
  EXPECT_EQ(a.sample, b.sample);
  ASSERT_EQ(a.tool_records.size(), b.tool_records.size());
  for (std::size_t i = 0; i < a.tool_records.size(); ++i) {
    const auto &x = a.tool_records[i], &y = b.tool_records[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.arguments, y.arguments);
    EXPECT_EQ(x.ok, y.ok);
    EXPECT_EQ(x.result, y.result);
    EXPECT_EQ(x.duration_ms, y.duration_ms);
    EXPECT_EQ(x.attempts, y.attempts);
    EXPECT_EQ(x.turn, y.turn);
  }
}

TEST(Checkpoint, StepResultRoundTripsThroughText) {
  const StepResult r = step_result();
  // Through the text a store keeps, not only the json value.
  auto back = step_result_from_json(nlohmann::json::parse(to_json(r).dump()));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  const StepStatus &a = r.status, &b = back->status;
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.activity, b.activity);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.tool_calls, b.tool_calls);
  EXPECT_EQ(a.elapsed, b.elapsed);
  EXPECT_EQ(a.units_total, b.units_total);
  EXPECT_EQ(a.units_done, b.units_done);
  EXPECT_EQ(a.samples_total, b.samples_total);
  EXPECT_EQ(a.samples_done, b.samples_done);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(r.output, back->output);
  EXPECT_EQ(r.fields, back->fields);
  ASSERT_EQ(r.samples.size(), back->samples.size());
  for (std::size_t i = 0; i < r.samples.size(); ++i)
    expect_equal(r.samples[i], back->samples[i]);
  EXPECT_EQ(to_json(*back), to_json(r));
}

TEST(Checkpoint, EveryStateAndKindRoundTrips) {
  for (auto st : {StepState::waiting, StepState::running, StepState::done, StepState::failed,
                  StepState::cancelled, StepState::skipped})
    EXPECT_EQ(parse_step_state(to_string(st)), st);
  for (auto k : {workflows::StepKind::agent, workflows::StepKind::best_of, workflows::StepKind::map,
                 workflows::StepKind::loop})
    EXPECT_EQ(parse_step_kind(to_string(k)), k);
  StepResult r;
  r.output = workflows::Value("plain text");
  auto back = step_result_from_json(to_json(r));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_FALSE(back->output.is_list());
  EXPECT_EQ(back->output.text(), "plain text");
}

TEST(Checkpoint, UnitOutcomeRoundTrips) {
  UnitOutcome u;
  u.output = "Answer: 4";
  u.answer = "4";
  u.confidence = 2.0 / 3.0;
  u.samples = {sample(7, 0), sample(7, 1), sample(7, 2)};
  auto back = unit_outcome_from_json(nlohmann::json::parse(to_json(u).dump()));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->output, u.output);
  EXPECT_EQ(back->answer, u.answer);
  EXPECT_EQ(back->confidence, u.confidence);
  ASSERT_EQ(back->samples.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i)
    expect_equal(u.samples[i], back->samples[i]);
  u.answer.reset();
  back = unit_outcome_from_json(to_json(u));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->answer.has_value());
}

std::string error_of(const nlohmann::json& j) {
  auto r = step_result_from_json(j);
  if (r.ok()) return "<parsed>";
  EXPECT_EQ(r.error().code, ErrorCode::parse);
  return r.error().message;
}

TEST(Checkpoint, ErrorsNameTheJsonPointer) {
  const nlohmann::json good = to_json(step_result());
  EXPECT_EQ(error_of(nlohmann::json::array()), "checkpoint: /: expected an object");
  auto j = good;
  j["samples"][2]["tokens"] = "many";
  EXPECT_EQ(error_of(j), "checkpoint: /samples/2/tokens: expected an integer");
  j = good;
  j["status"].erase("state");
  EXPECT_EQ(error_of(j), "checkpoint: /status/state: missing");
  j = good;
  j["status"]["state"] = "exploded";
  EXPECT_EQ(error_of(j), "checkpoint: /status/state: unknown step state 'exploded'");
  j = good;
  j["fields"]["a/b~c"] = 5;
  EXPECT_EQ(error_of(j), "checkpoint: /fields/a~1b~0c: expected a string or an array of strings");
  j = good;
  j["output"][1] = nullptr;
  EXPECT_EQ(error_of(j), "checkpoint: /output/1: expected a string");
  j = good;
  j["samples"][0]["answer"] = 4;
  EXPECT_EQ(error_of(j), "checkpoint: /samples/0/answer: expected a string or null");
  auto u = unit_outcome_from_json({{"output", "x"}, {"answer", nullptr}, {"samples", {}}});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().message, "checkpoint: /confidence: missing");
}

}  // namespace
}  // namespace agentrt::actors::workflow
