// The step keys `when`, `timeout`, `retries` and `backoff`: loading, their ranges, and the
// validator's checks of a condition's references, each at its exact line and column; a
// condition over a step orders that step first.
#include <gtest/gtest.h>

#include "workflows/loader.h"
#include "workflows/planner.h"
#include "workflows/test_util.h"

namespace agentrt::workflows {
namespace {

using testing::dump;
using testing::errors_of;
using testing::has_error;

const char* kHeader = R"(agents: { a: {} }
inputs: { limit: { type: int, default: 10 } }
steps:
  - id: classify
    agent: a
    input: hi
    extract: { label: '(\w+)' }
)";

std::vector<std::string> errors_with(const std::string& steps) {
  return errors_of(std::string(kHeader) + steps);
}

TEST(StepControl, LoadsWhenTimeoutRetriesAndBackoff) {
  auto r = load_workflow(std::string(kHeader) + R"(  - id: big
    agent: a
    input: go
    when: steps.classify.label == "math" and inputs.limit > 3
    timeout: 1.5m
    retries: 2
    backoff: 250ms
  - { id: h, agent: a, input: x, timeout: 24h }
  - { id: plain, agent: a, input: x, timeout: 30 }
)",
                         "wf.yaml");
  validate_workflow(r.workflow, r.diagnostics);
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  const Step& s = r.workflow.steps[1];
  ASSERT_TRUE(s.when.has_value());
  EXPECT_EQ(s.when->cond.references().size(), 2u);
  EXPECT_EQ(s.timeout_ms, 90000);
  EXPECT_EQ(s.retries, 2);
  EXPECT_EQ(s.backoff_ms, 250);
  EXPECT_EQ(r.workflow.steps[2].timeout_ms, 24 * 3600 * 1000);
  EXPECT_EQ(r.workflow.steps[3].timeout_ms, 30000);
  EXPECT_EQ(r.workflow.steps[3].retries, 0);
  EXPECT_EQ(r.workflow.steps[3].backoff_ms, 1000);
  EXPECT_FALSE(r.workflow.steps[0].when.has_value());
  // The condition over 'classify' makes it a dependency, placed at the reference.
  const auto deps = step_dependencies(r.workflow);
  ASSERT_EQ(deps[1].size(), 1u);
  EXPECT_EQ(deps[1][0].from, 0);
  EXPECT_EQ(deps[1][0].loc.line, 11);
  EXPECT_EQ(deps[1][0].loc.col, 11);
  const auto plan = plan_workflow(r.workflow);
  ASSERT_EQ(plan.levels.size(), 2u);
}

TEST(StepControl, ConditionSyntaxErrorsAreLocatedInsideTheCondition) {
  auto errs = errors_with("  - { id: b, agent: a, input: x, when: steps.classify.label = 1 }\n");
  EXPECT_TRUE(has_error(errs, "8:61", "step 'b'.when: unexpected '= 1'")) << dump(errs);
  errs = errors_with("  - { id: b, agent: a, input: x, when: '(inputs.limit > 1' }\n");
  EXPECT_TRUE(has_error(errs, "8:58", "missing ')'")) << dump(errs);
  errs = errors_with("  - { id: b, agent: a, input: x, when: [1] }\n");
  EXPECT_TRUE(has_error(errs, "8:40", "step 'b'.when: expected a condition")) << dump(errs);
}

TEST(StepControl, ConditionReferencesAreChecked) {
  auto errs = errors_with(
      "  - { id: b, agent: a, input: x, when: steps.clasify.label == 'a' or inputs.limt > 1 }\n");
  EXPECT_TRUE(has_error(errs, "8:40",
                        "step 'b' when: steps.clasify.label references unknown step 'clasify'"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "8:70", "step 'b' when: inputs.limt references undeclared input"))
      << dump(errs);
  errs = errors_with("  - { id: b, agent: a, input: x, when: steps.classify.nope }\n");
  EXPECT_TRUE(
      has_error(errs, "8:40", "step 'classify' has no field 'nope' (fields: output, label)"))
      << dump(errs);
  errs = errors_with("  - { id: b, agent: a, input: x, when: steps.classify.label == math }\n");
  EXPECT_TRUE(has_error(errs, "8:64", "math references nothing")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "8:64", "text is quoted: \"math\"")) << dump(errs);
  errs = errors_with("  - { id: b, agent: a, input: x, map: { over: 'x' }, when: item == 1 }\n");
  EXPECT_TRUE(has_error(errs, "8:60", "item references nothing")) << dump(errs);
}

TEST(StepControl, AConditionOnItselfIsACycle) {
  auto errs = errors_with("  - { id: b, agent: a, input: x, when: steps.b.output }\n");
  EXPECT_TRUE(has_error(errs, "8:40", "step 'b' is part of a dependency cycle: b -> b"))
      << dump(errs);
}

TEST(StepControl, RangesAreChecked) {
  auto errs = errors_with(R"(  - id: b
    agent: a
    input: x
    timeout: 25h
    retries: 11
    backoff: 2h
  - { id: c, agent: a, input: x, timeout: 0s }
  - { id: d, agent: a, input: x, timeout: soon, backoff: 1s }
  - { id: e, agent: a, input: x, retries: -1 }
)");
  EXPECT_TRUE(has_error(errs, "11:14", "step 'b'.timeout: expected a duration from 1ms to 24h"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "12:14", "step 'b'.retries: must be in [0, 10], got 11"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "13:14", "step 'b'.backoff: expected a duration from 1ms to 1h"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "14:43", "step 'c'.timeout: expected a duration")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "15:43", "got 'soon'")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "15:49", "step 'd': backoff is the wait between retries"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "16:43", "step 'e'.retries: must be in [0, 10], got -1"))
      << dump(errs);
}

// The loader fuzz target's seed with every control key is a valid workflow.
TEST(StepControl, TheFuzzSeedIsValid) {
  auto r = check_workflow_file(std::string(AGENTRT_SOURCE_DIR) +
                               "/tests/fuzz/corpus/workflow_loader/step_control.yaml");
  EXPECT_TRUE(r.ok()) << r.diagnostics.to_string();
  ASSERT_EQ(r.workflow.steps.size(), 4u);
  EXPECT_TRUE(r.workflow.steps[3].when.has_value());
  EXPECT_EQ(r.workflow.steps[3].retries, 10);
}

}  // namespace
}  // namespace agentrt::workflows
