// Loader and validator: every error class, at its exact line and column, all at once.
#include "workflows/loader.h"

#include <gtest/gtest.h>

#include "workflows/test_util.h"

namespace agentrt::workflows {
namespace {

using testing::dump;
using testing::errors_of;
using testing::has_error;

const char* kValid = R"(name: ok
tools:
  calculator: { builtin: calculator }
agents:
  solver:
    system: "Solve. {{ inputs.question }}"
    tools: [calculator]
    sampling: { temperature: 0.5, max_tokens: 64, seed: 3 }
    max_turns: 4
inputs:
  question: { type: string, default: "1 + 1?" }
  k: { type: int, default: 3 }
steps:
  - id: solve
    agent: solver
    input: "{{ inputs.question }}"
    best_of: { n: 4, aggregate: majority, answer: 'Answer: (\d+)', early_stop: 2 }
  - id: check
    agent: solver
    after: [solve]
    input: "Proposed {{ steps.solve.answer }}"
    extract: { verdict: '(CORRECT|WRONG)' }
outputs:
  answer: "{{ steps.solve.answer }}"
  verdict: "{{ steps.check.verdict | default(\"none\") }}"
)";

TEST(Loader, ValidWorkflowLoadsIntoStructs) {
  auto r = load_workflow(kValid, "wf.yaml");
  ASSERT_TRUE(r.ok()) << r.diagnostics.to_string();
  const Workflow& wf = r.workflow;
  EXPECT_EQ(wf.name, "ok");
  ASSERT_EQ(wf.models.size(), 1u);  // implicit default model
  EXPECT_EQ(wf.models[0].name, "default");
  ASSERT_EQ(wf.agents.size(), 1u);
  EXPECT_DOUBLE_EQ(wf.agents[0].sampling.temperature, 0.5);
  EXPECT_EQ(wf.agents[0].sampling.max_tokens, 64);
  EXPECT_EQ(wf.agents[0].sampling.seed, 3u);
  EXPECT_EQ(wf.agents[0].max_turns, 4);
  ASSERT_EQ(wf.steps.size(), 2u);
  ASSERT_TRUE(wf.steps[0].best_of.has_value());
  EXPECT_EQ(wf.steps[0].best_of->n, 4);
  EXPECT_EQ(wf.steps[0].best_of->early_stop, 2);
  EXPECT_EQ(wf.steps[0].best_of->answer, R"(Answer: (\d+))");
  EXPECT_EQ(wf.steps[0].kind(), StepKind::best_of);
  EXPECT_EQ(wf.steps[1].after[0].name, "solve");
  EXPECT_EQ(wf.steps[1].after[0].loc.line, 20);
  EXPECT_EQ(wf.steps[1].after[0].loc.col, 13);
  EXPECT_EQ(wf.inputs[1].type, InputType::integer);
  EXPECT_EQ(wf.inputs[1].default_value->text(), "3");
  EXPECT_TRUE(errors_of(kValid).empty()) << dump(errors_of(kValid));
}

TEST(Loader, YamlSyntaxErrorHasItsPlace) {
  auto e = errors_of("name: x\nsteps: [a, b\n");
  ASSERT_EQ(e.size(), 1u) << dump(e);
  EXPECT_NE(e[0].find("YAML syntax"), std::string::npos) << e[0];
  EXPECT_EQ(e[0].rfind("3:1: ", 0), 0u) << e[0];  // end of input: the flow never closed
}

TEST(Loader, StrayCommaAtDocumentLevelIsAnErrorNotAnEndlessLoop) {
  // yaml-cpp 0.7.0's LoadAll yields empty documents forever here (until memory runs out).
  EXPECT_TRUE(has_error(errors_of(","), "1:1", "',' outside a flow collection"));
  EXPECT_TRUE(has_error(errors_of("\"x\" ,"), "1:5", "',' outside a flow collection"));
  EXPECT_TRUE(has_error(errors_of("a: 1\n---\nb: 2\n"), "3:1", "only one YAML document"));
}

TEST(Loader, TopLevelMustBeAMapping) {
  EXPECT_TRUE(has_error(errors_of("- a\n- b\n"), "1:1", "workflow: expected a mapping"));
  EXPECT_TRUE(has_error(errors_of(""), "1:1", "empty"));
  EXPECT_TRUE(has_error(errors_of("name: x\n"), "1:1", "missing required key 'agents'"));
}

TEST(Loader, UnknownKeysEverywhere) {
  auto e = errors_of(R"(name: x
colour: red
agents:
  a: { sytem: hi }
steps:
  - { id: s, agent: a, input: hi, aftr: [] }
  - { id: t, agent: a, input: hi, best_of: { n: 2, agregate: majority } }
)");
  EXPECT_TRUE(has_error(e, "2:1", "unknown key 'colour' in workflow")) << dump(e);
  EXPECT_TRUE(has_error(e, "4:8", "unknown key 'sytem' in agents.a (did you mean 'system'?)"))
      << dump(e);
  EXPECT_TRUE(has_error(e, "6:35", "unknown key 'aftr' in step 's' (did you mean 'after'?)"))
      << dump(e);
  EXPECT_TRUE(has_error(e, "7:52", "unknown key 'agregate'")) << dump(e);
  EXPECT_EQ(e.size(), 4u) << dump(e);
}

TEST(Loader, DuplicateKeys) {
  auto e = errors_of("name: x\nname: y\nagents: {a: {}}\nsteps: [{id: s, agent: a, input: i}]\n");
  EXPECT_TRUE(has_error(e, "2:1", "duplicate key 'name' in workflow")) << dump(e);
}

TEST(Loader, WrongTypes) {
  auto e = errors_of(R"(agents:
  a:
    tools: { calculator: 1 }
    sampling: { temperature: hot, max_tokens: 0, top_p: [1] }
    max_turns: 2.5
inputs:
  n: { type: integer }
steps:
  - id: s
    agent: [a]
    input: hi
    best_of: { n: many }
)");
  EXPECT_TRUE(has_error(e, "3:12", "agents.a.tools: expected a list of names, got a mapping"))
      << dump(e);
  EXPECT_TRUE(has_error(e, "4:30", "temperature: expected a number, got 'hot'")) << dump(e);
  EXPECT_TRUE(has_error(e, "4:47", "max_tokens: must be in [1, ")) << dump(e);
  EXPECT_TRUE(has_error(e, "4:57", "top_p: expected a number, got a list")) << dump(e);
  EXPECT_TRUE(has_error(e, "5:16", "max_turns: expected an integer, got '2.5'")) << dump(e);
  EXPECT_TRUE(has_error(e, "7:14", "must be one of string, int, number, bool, list")) << dump(e);
  EXPECT_TRUE(has_error(e, "10:12", "step 's'.agent: expected a name, got a list")) << dump(e);
  EXPECT_TRUE(has_error(e, "12:19", "best_of.n: expected an integer, got 'many'")) << dump(e);
}

TEST(Loader, MissingRequiredKeys) {
  auto e = errors_of("agents: {a: {}}\nsteps:\n  - id: s\n    input: x\n  - agent: a\n");
  EXPECT_TRUE(has_error(e, "3:5", "step 's': missing required key 'agent'")) << dump(e);
  EXPECT_TRUE(has_error(e, "5:5", "steps[1]: missing required key 'id'")) << dump(e);
  EXPECT_TRUE(has_error(e, "5:5", "steps[1]: missing required key 'input'")) << dump(e);
}

TEST(Validator, UnknownAgentsToolsModelsAndSteps) {
  auto e = errors_of(R"(models:
  small: { path: m }
tools:
  calc: { builtin: calculater }
agents:
  a: { model: big, tools: [calc, web] }
  b: {}
steps:
  - { id: s, agent: solvr, input: hi }
  - { id: t, agent: a, input: hi, after: [s, nope] }
  - { id: u, agent: a, input: hi, after: u }
)");
  EXPECT_TRUE(has_error(e, "4:20", "tool 'calc': unknown builtin 'calculater'")) << dump(e);
  EXPECT_TRUE(has_error(e, "6:15", "agent 'a': unknown model 'big' (models: small)")) << dump(e);
  EXPECT_TRUE(has_error(e, "6:34", "agent 'a': unknown tool 'web' (tools: calc)")) << dump(e);
  // b names no model and the workflow's only model is 'small': that is its model.
  EXPECT_TRUE(has_error(e, "9:21", "step 's': unknown agent 'solvr' (agents: a, b)")) << dump(e);
  EXPECT_TRUE(has_error(e, "10:46", "step 't' comes after unknown step 'nope'")) << dump(e);
  EXPECT_TRUE(has_error(e, "11:42", "step 'u' cannot come after itself")) << dump(e);
  EXPECT_EQ(e.size(), 7u) << dump(e);  // the self-reference is also a cycle
}

TEST(Validator, AgentWithoutModelAmongSeveral) {
  auto e =
      errors_of("models: {x: {}, y: {}}\nagents:\n  a: {}\nsteps: [{id: s, agent: a, input: i}]\n");
  EXPECT_TRUE(has_error(e, "3:3", "agent 'a' must name its model")) << dump(e);
}

TEST(Validator, Cycles) {
  auto e = errors_of(R"(agents: {a: {}}
steps:
  - { id: x, agent: a, input: "{{ steps.z.output }}" }
  - { id: y, agent: a, input: hi, after: [x] }
  - { id: z, agent: a, input: hi, after: [y] }
  - { id: free, agent: a, input: hi }
)");
  ASSERT_EQ(e.size(), 1u) << dump(e);
  EXPECT_TRUE(has_error(e, "4:43", "step 'y' is part of a dependency cycle: x -> z -> y -> x"))
      << dump(e);
}

TEST(Validator, TemplatesThatReferenceNothing) {
  auto e = errors_of(R"(agents:
  a: { system: "About {{ steps.s.output }}" }
inputs: { q: {} }
steps:
  - id: s
    agent: a
    input: "{{ inputs.qq }} {{ steps.t.output }} {{ item }} {{ loop.index }} {{ inputs }}"
  - id: t
    agent: a
    input: "{{ steps.s.answer }} {{ steps.s.output.x }}"
  - id: m
    agent: a
    input: "{{ each }} {{ each.x }}"
    map: { over: "{{ inputs.q | lines }}", as: each }
outputs:
  o: "{{ steps.nope.output }}"
  p: "text {{ bogus"
)");
  EXPECT_TRUE(has_error(e, "2:23", "references a step, but agent 'a' system prompt")) << dump(e);
  EXPECT_TRUE(has_error(e, "7:13", "{{ inputs.qq }} references undeclared input 'qq' (inputs: q)"))
      << dump(e);
  // s reads t and t reads s: a cycle, reported where t's reference closes it.
  EXPECT_TRUE(has_error(e, "10:13", "dependency cycle: s -> t -> s")) << dump(e);
  EXPECT_TRUE(has_error(e, "10:13", "step 's' has no field 'answer' (fields: output)")) << dump(e);
  EXPECT_TRUE(has_error(e, "10:34", "write steps.ID.FIELD")) << dump(e);
  EXPECT_TRUE(has_error(e, "7:50", "{{ item }} references nothing (expected inputs.NAME"))
      << dump(e);
  EXPECT_TRUE(has_error(e, "7:61", "loop.* exists only in a loop step's input")) << dump(e);
  EXPECT_TRUE(has_error(e, "7:78", "write inputs.NAME")) << dump(e);
  EXPECT_TRUE(has_error(e, "13:24", "the map item 'each' has no fields")) << dump(e);
  EXPECT_TRUE(has_error(e, "16:7", "references unknown step 'nope' (steps: s, t, m)")) << dump(e);
  EXPECT_TRUE(has_error(e, "17:12", "unclosed '{{'")) << dump(e);
}

TEST(Validator, StepReferencingAnotherStepWithoutAfterIsOrderedByIt) {
  // steps.t is referenced: an implicit dependency, so t -> s is fine, but s.output from t
  // plus t's reference back is a cycle (covered above). Here only the field is checked.
  auto e = errors_of(R"(agents: {a: {}}
steps:
  - { id: s, agent: a, input: "{{ steps.t.output }}" }
  - { id: t, agent: a, input: "x", extract: { n: '(\d+)' } }
outputs: { n: "{{ steps.t.n }}" }
)");
  EXPECT_TRUE(e.empty()) << dump(e);
}

TEST(Validator, BestOfSettings) {
  auto e = errors_of(R"(agents: {a: {}}
tools: { calculator: { builtin: calculator } }
steps:
  - { id: s, agent: a, input: i, best_of: { n: 2, aggregate: verifier } }
  - { id: t, agent: a, input: i, best_of: { n: 2, aggregate: scorer, scorer: nope } }
  - { id: u, agent: a, input: i, best_of: { n: 2, aggregate: logprob, early_stop: 1 } }
  - { id: v, agent: a, input: i, best_of: { n: 2, early_stop: 3, answer: '(' } }
  - { id: w, agent: a, input: i, best_of: { n: 2, aggregate: vote, verifier: a } }
)");
  EXPECT_TRUE(has_error(e, "4:43", "aggregate 'verifier' needs best_of.verifier")) << dump(e);
  EXPECT_TRUE(has_error(e, "5:78", "unknown scorer tool 'nope'")) << dump(e);
  EXPECT_TRUE(has_error(e, "6:43", "early_stop works only with aggregate: majority")) << dump(e);
  EXPECT_TRUE(has_error(e, "7:63", "early_stop: must be at most n (2)")) << dump(e);
  EXPECT_TRUE(has_error(e, "7:74", "answer: bad regex")) << dump(e);
  EXPECT_TRUE(has_error(e, "8:62", "must be majority, logprob, verifier or scorer")) << dump(e);
  EXPECT_TRUE(has_error(e, "8:78", "verifier is used only with aggregate: verifier")) << dump(e);
}

TEST(Validator, AllErrorsAtOnceAndSortedOutput) {
  auto r =
      load_workflow("agents: {a: {sytem: x}}\nsteps: [{id: s, agent: b, input: i}]\n", "w.yaml");
  validate_workflow(r.workflow, r.diagnostics);
  EXPECT_EQ(r.diagnostics.to_string(),
            "w.yaml:1:14: unknown key 'sytem' in agents.a (did you mean 'system'?)\n"
            "w.yaml:2:24: step 's': unknown agent 'b' (agents: a)\n");
}

TEST(Loader, ExamplesAreValid) {
  for (const char* name : {"single_agent", "best_of_majority", "team_review", "map_questions",
                           "loop_until_answer", "research_files", "when_branch", "schema_map"}) {
    auto r = check_workflow_file(std::string(AGENTRT_SOURCE_DIR) + "/workflows/examples/" + name +
                                 ".yaml");
    EXPECT_TRUE(r.ok()) << name << "\n" << r.diagnostics.to_string();
  }
}

TEST(Loader, OversizedAndUnreadable) {
  EXPECT_FALSE(load_workflow(std::string(kMaxWorkflowBytes + 1, ' '), "big.yaml").ok());
  auto r = load_workflow_file("/nonexistent/wf.yaml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics.to_string(), "/nonexistent/wf.yaml: no such file\n");
}

}  // namespace
}  // namespace agentrt::workflows
