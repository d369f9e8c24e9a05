// Planning: dependencies from `after` and from template references; levels of independent
// steps; inputs resolution; the regex patterns used for extraction.
#include "workflows/planner.h"

#include <gtest/gtest.h>

#include "workflows/inputs.h"
#include "workflows/loader.h"
#include "workflows/pattern.h"

namespace agentrt::workflows {
namespace {

Workflow load(const std::string& yaml) {
  auto r = load_workflow(yaml, "wf.yaml");
  EXPECT_TRUE(r.ok()) << r.diagnostics.to_string();
  return r.workflow;
}

std::vector<std::vector<std::string>> level_ids(const Workflow& wf) {
  std::vector<std::vector<std::string>> out;
  for (const auto& level : plan_workflow(wf).levels) {
    out.emplace_back();
    for (int i : level)
      out.back().push_back(wf.steps[static_cast<std::size_t>(i)].id);
  }
  return out;
}

TEST(Planner, LevelsFromAfterAndTemplateReferences) {
  auto wf = load(R"(agents: {a: {}}
steps:
  - { id: join, agent: a, input: "{{ steps.left.output }} {{ steps.right.output }}" }
  - { id: left, agent: a, input: x }
  - { id: right, agent: a, input: x, after: [root] }
  - { id: root, agent: a, input: x }
  - { id: last, agent: a, input: x, after: [join, left] }
)");
  using L = std::vector<std::vector<std::string>>;
  EXPECT_EQ(level_ids(wf), (L{{"left", "root"}, {"right"}, {"join"}, {"last"}}));
  const auto deps = step_dependencies(wf);
  ASSERT_EQ(deps[0].size(), 2u);
  EXPECT_EQ(deps[0][0].from, 1);
  EXPECT_EQ(deps[0][0].loc.line, 3);
  EXPECT_EQ(deps[0][0].loc.col, 35);  // the `{{` of steps.left
}

TEST(Planner, RepeatedReferencesAreOneDependency) {
  auto wf = load(R"(agents: {a: {}}
steps:
  - { id: s, agent: a, input: x }
  - { id: t, agent: a, input: "{{ steps.s.output }}{{ steps.s.output }}", after: [s, s] }
)");
  EXPECT_EQ(step_dependencies(wf)[1].size(), 1u);
}

TEST(Planner, StepsOnACycleGetNoLevel) {
  auto wf = load(R"(agents: {a: {}}
steps:
  - { id: s, agent: a, input: x, after: [t] }
  - { id: t, agent: a, input: x, after: [s] }
  - { id: u, agent: a, input: x }
)");
  using L = std::vector<std::vector<std::string>>;
  EXPECT_EQ(level_ids(wf), (L{{"u"}}));
  Diagnostics d;
  find_cycles(wf, d);
  EXPECT_EQ(d.size(), 1u);
}

TEST(Planner, LongChainIsIterativeNotRecursive) {
  std::string yaml = "agents: {a: {}}\nsteps:\n";
  const int n = 8000;
  for (int i = 0; i < n; ++i)
    yaml += "  - { id: s" + std::to_string(i) + ", agent: a, input: x" +
            (i ? ", after: [s" + std::to_string(i - 1) + "]" : std::string()) + " }\n";
  yaml += "  - { id: s0b, agent: a, input: x, after: [s" + std::to_string(n - 1) + "] }\n";
  auto wf = load(yaml);
  EXPECT_EQ(plan_workflow(wf).levels.size(), static_cast<std::size_t>(n + 1));
  Diagnostics d;
  find_cycles(wf, d);
  EXPECT_TRUE(d.empty());
}

TEST(Inputs, DefaultsTypesMissingAndUnknown) {
  auto wf = load(R"(agents: {a: {}}
inputs:
  q: { type: string }
  n: { type: int, default: 4 }
  t: { type: number, default: 0.5 }
  ok: { type: bool, default: true }
  xs: { type: list, default: [a, b] }
steps: [{ id: s, agent: a, input: x }]
)");
  Diagnostics d("wf.yaml");
  auto v = resolve_inputs(wf, {{"q", "hi"}, {"n", "16"}, {"xs", "[\"p\", \"q\", \"r\"]"}}, d);
  EXPECT_TRUE(d.empty()) << d.to_string();
  EXPECT_EQ(v["q"].text(), "hi");
  EXPECT_EQ(v["n"].text(), "16");
  EXPECT_EQ(v["t"].text(), "0.5");
  EXPECT_EQ(v["xs"].list().size(), 3u);

  Diagnostics bad("wf.yaml");
  (void)resolve_inputs(wf, {{"n", "many"}, {"zz", "1"}, {"t", "1e999"}, {"ok", "yes"}}, bad);
  EXPECT_EQ(bad.to_string(),
            "wf.yaml: --input n: input 'n' is an int, got 'many'\n"
            "wf.yaml: --input zz: the workflow has no input 'zz' (inputs: q, n, t, ok, xs)\n"
            "wf.yaml: --input t: input 't' is a number, got '1e999'\n"
            "wf.yaml: --input ok: input 'ok' is a bool (true or false), got 'yes'\n"
            "wf.yaml:3:3: input 'q' is required (it has no default) but was not given; pass "
            "--input q=...\n");
}

TEST(Pattern, ExtractsTheLastMatchAndItsGroup) {
  auto p = Pattern::compile(R"(Answer: *(-?\d+))");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->extract_last("Answer: 3\nno\nAnswer: -42"), "-42");
  EXPECT_FALSE(p->extract_last("no answer").has_value());
  auto whole = Pattern::compile(R"(\d+)");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->extract_last("1 22 333"), "333");
  auto empty = Pattern::compile("x*");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->extract_last("é"), "");  // empty matches step over whole characters
  EXPECT_TRUE(Pattern::compile("CORRECT")->matches("it is CORRECT"));
  auto bad = Pattern::compile("(");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bad regex"), std::string::npos);
}

}  // namespace
}  // namespace agentrt::workflows
