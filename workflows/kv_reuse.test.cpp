// The kv_reuse / blend_recompute keys: where they may appear, how step over agent over
// workflow resolves, and every bad value at its line and column.
#include <gtest/gtest.h>

#include "workflows/loader.h"
#include "workflows/test_util.h"

namespace agentrt::workflows {
namespace {

using testing::dump;
using testing::errors_of;
using testing::has_error;

const char* kLevels = R"(name: reuse
kv_reuse: blend
blend_recompute: 0.3
agents:
  plain: { system: "Solve." }
  exacting:
    system: "Check."
    kv_reuse: exact
  tuned:
    blend_recompute: 0.05
steps:
  - id: a
    agent: plain
    input: "x"
  - id: b
    agent: exacting
    input: "y"
  - id: c
    agent: exacting
    input: "z"
    kv_reuse: blend
    blend_recompute: 0.15
  - id: d
    agent: tuned
    input: "w"
)";

TEST(KvReuse, StepOverAgentOverWorkflow) {
  auto r = load_workflow(kLevels, "wf.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  const Workflow& wf = r.workflow;
  auto of = [&](int step) {
    const Step& s = wf.steps[static_cast<std::size_t>(step)];
    return wf.kv_reuse_of(*wf.find_agent(s.agent.name), s);
  };
  EXPECT_EQ(of(0).mode, KvReuseMode::blend);
  EXPECT_EQ(of(0).blend_recompute, 0.3);
  EXPECT_EQ(of(1).mode, KvReuseMode::exact);  // the agent's exact
  EXPECT_EQ(of(2).mode, KvReuseMode::blend);  // the step's blend over the agent's exact
  EXPECT_EQ(of(2).blend_recompute, 0.15);
  EXPECT_EQ(of(2).loc.line, 21);
  EXPECT_EQ(of(3).mode, KvReuseMode::blend);  // the workflow's mode, the agent's fraction
  EXPECT_EQ(of(3).blend_recompute, 0.05);
}

TEST(KvReuse, DefaultIsExactWithoutFraction) {
  auto r =
      load_workflow("agents: { a: {} }\nsteps:\n  - { id: s, agent: a, input: x }\n", "wf.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  const auto k = r.workflow.kv_reuse_of(r.workflow.agents[0], r.workflow.steps[0]);
  EXPECT_EQ(k.mode, KvReuseMode::exact);
  EXPECT_FALSE(k.blend_recompute.has_value());
}

TEST(KvReuse, JobOverrideReplacesEveryLevel) {
  auto r = load_workflow(kLevels, "wf.yaml");
  ASSERT_TRUE(r.ok());
  Workflow wf = r.workflow;
  wf.override_kv_reuse({KvReuseMode::exact, std::nullopt, std::nullopt, {}});
  for (const auto& s : wf.steps) {
    const auto k = wf.kv_reuse_of(*wf.find_agent(s.agent.name), s);
    EXPECT_EQ(k.mode, KvReuseMode::exact) << s.id;
    EXPECT_FALSE(k.blend_recompute.has_value()) << s.id;
  }
}

TEST(KvReuse, BadValuesAtTheirPlace) {
  const auto errs = errors_of(R"(kv_reuse: partial
blend_recompute: 1.5
agents:
  a:
    kv_reuse: [blend]
    blend_recompute: fast
steps:
  - id: s
    agent: a
    input: x
    kv_reuse: exact
    blend_recompute: 0.2
  - id: t
    agent: a
    input: y
    blend_recompute: -0.1
)");
  EXPECT_TRUE(has_error(errs, "1:11", "kv_reuse: must be exact or blend, got 'partial'"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "2:18", "blend_recompute: must be in [0.0000, 1.0000], got 1.5"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "5:15", "agents.a.kv_reuse")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "6:22", "agents.a.blend_recompute: expected a number")) << dump(errs);
  EXPECT_TRUE(has_error(errs, "12:5", "blend_recompute applies to kv_reuse: blend only"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "16:22", "step 't'.blend_recompute: must be in")) << dump(errs);
}

// blend_anchors: a boolean at any level, inherited as blend_recompute is; blend only.
TEST(KvReuse, BlendAnchorsInheritsAndAppliesToBlendOnly) {
  auto r = load_workflow(R"(kv_reuse: blend
blend_anchors: true
agents:
  a: {}
  b: { blend_anchors: false }
steps:
  - { id: s, agent: a, input: x }
  - { id: t, agent: b, input: y }
  - { id: u, agent: b, input: z, blend_anchors: true }
)",
                         "wf.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  const Workflow& wf = r.workflow;
  auto of = [&](std::size_t i) {
    return wf.kv_reuse_of(*wf.find_agent(wf.steps[i].agent.name), wf.steps[i]);
  };
  EXPECT_EQ(of(0).blend_anchors, true);
  EXPECT_EQ(of(1).blend_anchors, false);
  EXPECT_EQ(of(2).blend_anchors, true);
  const auto errs = errors_of(R"(agents:
  a: { kv_reuse: exact, blend_anchors: true }
steps:
  - { id: s, agent: a, input: x, blend_anchors: maybe }
)");
  EXPECT_TRUE(has_error(errs, "2:25", "blend_anchors applies to kv_reuse: blend only"))
      << dump(errs);
  EXPECT_TRUE(has_error(errs, "4:49", "step 's'.blend_anchors: expected true or false"))
      << dump(errs);
}

// A step's tool results may be quoted to another agent (and are marked as segments there).
TEST(KvReuse, ToolResultsIsAFieldOfEveryStep) {
  const auto ok = errors_of(
      "agents: { a: {} }\nsteps:\n  - { id: s, agent: a, input: x }\n"
      "  - { id: t, agent: a, after: [s], input: \"{{ steps.s.tool_results }}\" }\n");
  EXPECT_TRUE(ok.empty()) << dump(ok);
  const auto bad = errors_of(
      "agents: { a: {} }\nsteps:\n  - { id: s, agent: a, input: x }\n"
      "  - { id: t, agent: a, after: [s], input: \"{{ steps.s.tool_result }}\" }\n");
  EXPECT_TRUE(has_error(bad, "4:44", "has no field 'tool_result'")) << dump(bad);
}

}  // namespace
}  // namespace agentrt::workflows
