// Structured step output on the real runtime and the embedded model (tiny-calc, CPU): the
// answer is JSON of the step's output_schema, its properties are typed fields, a JSON array
// feeds a later map, an agent with tools gets one more constrained turn, and each tool
// call is recorded.
#include "actors/workflow/schema_output.h"

#include <gtest/gtest.h>

#include <set>

#include "actors/workflow/workflow_runner.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"
#include "workflows/validator.h"

namespace agentrt::actors::workflow {
namespace {

using Json = nlohmann::ordered_json;

RunnerOptions options() {
  RunnerOptions o;
  o.fallback_model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  o.kv_blocks = 1024;
  return o;
}

WorkflowOutcome run(const workflows::LoadResult& r) {
  EXPECT_TRUE(r.ok()) << r.diagnostics.to_string();
  workflows::Diagnostics d;
  auto inputs = workflows::resolve_inputs(r.workflow, {}, d);
  RuntimePool pool{RuntimeOptions{}};
  auto runner = WorkflowRunner::create(r.workflow, options(), pool);
  EXPECT_TRUE(runner.ok()) << (runner.ok() ? "" : runner.error().to_string());
  if (!runner.ok()) return {};
  return (*runner)->run(inputs);
}

workflows::LoadResult load_text(const std::string& yaml) {
  auto r = workflows::load_workflow(yaml, "wf.yaml");
  if (r.parsed) workflows::validate_workflow(r.workflow, r.diagnostics);
  return r;
}

TEST(SchemaOutput, ValueOfJson) {
  EXPECT_EQ(value_of_json(Json("a\nb")), workflows::Value("a\nb"));
  EXPECT_EQ(value_of_json(Json(3)), workflows::Value("3"));
  EXPECT_EQ(value_of_json(Json(true)), workflows::Value("true"));
  EXPECT_EQ(value_of_json(Json()), workflows::Value(""));
  EXPECT_EQ(value_of_json(Json::parse(R"({"k": [1, "x"]})")), workflows::Value(R"({"k":[1,"x"]})"));
  EXPECT_EQ(value_of_json(Json::parse(R"(["a", 2, {"b": null}, [3]])")),
            workflows::Value(std::vector<std::string>{"a", "2", R"({"b":null})", "[3]"}));
}

TEST(SchemaOutput, FieldsOfAPlainStepAndOfAMapStep) {
  workflows::Step step;
  step.output_schema = workflows::OutputSchemaSpec{"{}", {"items", "n", "missing"}, {}};
  const std::string a = R"({"items": [{"q": "x"}, "two", 3], "n": 1.5})";
  const std::string b = R"({"items": [], "n": null})";
  std::map<std::string, workflows::Value> fields;
  add_schema_fields(step, {&a}, fields);
  // An array is a list (objects as JSON text): what a later map iterates.
  EXPECT_EQ(fields.at("items"),
            workflows::Value(std::vector<std::string>{R"({"q":"x"})", "two", "3"}));
  auto items = fields.at("items").to_items("map.over");
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->size(), 3u);
  EXPECT_EQ(fields.at("n"), workflows::Value("1.5"));
  EXPECT_EQ(fields.at("missing"), workflows::Value(""));
  // A map step: one entry per item, each the property's text (arrays as JSON).
  step.map = workflows::MapSpec{};
  fields.clear();
  const std::string bad = "not json";
  add_schema_fields(step, {&a, &b, &bad, nullptr}, fields);
  EXPECT_EQ(fields.at("items"),
            workflows::Value(std::vector<std::string>{R"([{"q":"x"},"two",3])", "[]", "", ""}));
  EXPECT_EQ(fields.at("n"), workflows::Value(std::vector<std::string>{"1.5", "", "", ""}));
}

TEST(SchemaOutput, ExampleFeedsAMapAndAsksToolAgentsForJson) {
  auto o = run(workflows::check_workflow_file(std::string(AGENTRT_SOURCE_DIR) +
                                              "/workflows/examples/schema_map.yaml"));
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  ASSERT_EQ(o.steps.size(), 2u);
  // The planner (no tools) was constrained: its questions come from the enum.
  const auto& questions = o.steps[0].fields.at("questions");
  ASSERT_TRUE(questions.is_list());
  ASSERT_EQ(questions.list().size(), 2u);
  for (const auto& q : questions.list())
    EXPECT_NE(q.find("How many"), std::string::npos) << q;
  // The map ran once per array element, and each answer is JSON of the solver's schema.
  const auto& solve = o.steps[1];
  EXPECT_EQ(solve.status.units_done, 2);
  ASSERT_EQ(solve.output.list().size(), 2u);
  ASSERT_EQ(solve.fields.at("answer").list().size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const Json j = Json::parse(solve.output.list()[i]);
    ASSERT_TRUE(j.at("answer").is_number_integer()) << solve.output.list()[i];
    EXPECT_EQ(solve.fields.at("answer").list()[i], j["answer"].dump());
  }
  // The solver has tools: its free answer ("Answer: N") got one more turn, constrained.
  ASSERT_EQ(solve.samples.size(), 2u);
  int records = 0;
  for (const auto& s : solve.samples) {
    EXPECT_NE(s.messages.find("Now give only your final answer, as JSON matching this JSON "
                              "schema"),
              std::string::npos)
        << s.messages;
    EXPECT_EQ(static_cast<int>(s.tool_records.size()), s.tool_calls);
    for (const auto& r : s.tool_records) {
      ++records;
      EXPECT_EQ(r.name, "calculator");
      EXPECT_TRUE(r.ok) << r.result;
      EXPECT_FALSE(r.result.empty());
      EXPECT_GE(r.duration_ms, 0.0);
      EXPECT_GE(r.turn, 1);
      EXPECT_TRUE(Json::parse(r.arguments).contains("expression")) << r.arguments;
    }
  }
  EXPECT_GE(records, 1);
}

TEST(SchemaOutput, FieldsAreTyped) {
  auto o = run(load_text(R"(agents:
  a: { system: Fill in the form., sampling: { temperature: 0, max_tokens: 64 } }
steps:
  - id: form
    agent: a
    input: Fill it.
    output_schema:
      type: object
      properties:
        kind: { enum: [alpha] }
        tags: { type: array, items: { enum: [x, y] }, minItems: 2, maxItems: 2 }
        meta: { type: object, properties: { k: { enum: [1] } }, required: [k] }
        flag: { type: boolean }
      required: [kind, tags, meta, flag]
outputs:
  tags: '{{ steps.form.tags | join("+") }}'
)"));
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  const auto& f = o.steps[0].fields;
  EXPECT_EQ(f.at("kind"), workflows::Value("alpha"));
  ASSERT_TRUE(f.at("tags").is_list());
  EXPECT_EQ(f.at("tags").list().size(), 2u);
  EXPECT_EQ(f.at("meta"), workflows::Value(R"({"k":1})"));
  EXPECT_TRUE(f.at("flag") == workflows::Value("true") ||
              f.at("flag") == workflows::Value("false"));
  ASSERT_EQ(o.outputs.size(), 1u);
  EXPECT_EQ(o.outputs[0].second.to_text().size(), 3u);  // "x+y" or similar
}

TEST(SchemaOutput, AnAnswerCutByMaxTokensFailsTheStep) {
  auto o = run(load_text(R"(agents:
  a: { system: Write., sampling: { temperature: 0, max_tokens: 6 } }
steps:
  - id: long
    agent: a
    input: Write many words.
    output_schema:
      type: object
      properties: { words: { type: array, items: { type: string }, minItems: 20 } }
      required: [words]
)"));
  ASSERT_FALSE(o.status.ok());
  EXPECT_EQ(o.steps[0].status.state, StepState::failed);
  const std::string& e = o.status.error().message;
  EXPECT_NE(e.find("output is not JSON of the step's output_schema: not valid JSON"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("(the agent stopped: token_budget)"), std::string::npos) << e;
}

}  // namespace
}  // namespace agentrt::actors::workflow
