// Issue 21: under kv_reuse blend the runner marks the text it templates into a step (a
// step's output, its tool results, map items) and each request reaches the engine with
// those spans as EngineRequest::segments: decoded, each span is the inserted text less its
// first and last word (prompt_segments.h: their tokens depend on the text around them).
// Observed at the engine actor's door (RuntimeOptions::on_generate), tiny-calc on the CPU.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "actors/workflow/workflow_runner.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"

namespace agentrt::actors::workflow {
namespace {

constexpr const char* kToolSays = "The calculator service says the result is 20, checked twice";

const char* kWorkflow = R"yaml(kv_reuse: blend
blend_recompute: 0.3
tools:
  calculator:
    command: [python3, -c, "import sys, json; json.load(sys.stdin); print('The calculator service says the result is 20, checked twice')"]
    description: Evaluate an integer arithmetic expression with + - * / and parentheses. Division must be exact.
    schema:
      type: object
      properties: { expression: { type: string, description: "The expression, e.g. 12 * (3 + 4)" } }
      required: [expression]
agents:
  a:
    system: "You solve arithmetic word problems. Use the calculator tool for every operation, then give the final line as 'Answer: N'."
    tools: [calculator]
    sampling: { temperature: 0, max_tokens: 96 }
    max_turns: 2
  b:
    system: "You check proposed answers."
    sampling: { temperature: 0, max_tokens: 4 }
inputs:
  items:
    type: list
    default: ["Tara has 9 cookies and Quinn has 4 more cookies than Tara.", "Jack has twice as many marbles as Xena, who has 6 marbles."]
steps:
  - { id: solve, agent: a, input: "Sam has 13 stamps. Kate has 7 more stamps than Sam. How many stamps does Kate have?" }
  - id: quote
    agent: b
    after: [solve]
    input: "Proposed: {{ steps.solve.output }}\nThe tool said: {{ steps.solve.tool_results }}\nIs it right?"
  - id: each
    agent: b
    map: { over: "{{ inputs.items }}", as: q }
    input: "Question: {{ q }} Check it."
  - id: plain
    agent: b
    kv_reuse: exact
    input: "Question: {{ inputs.items | first }} Check it."
)yaml";

struct Seen {
  std::vector<std::int32_t> prompt;
  std::vector<PromptSegment> segments;
  KvReuse mode = KvReuse::exact;
  std::optional<float> recompute;
};

// Whether some segment of `r` decodes to `inserted`, less at most `slack` bytes.
bool has_span_of(const tokenizer::Tokenizer& tok, const Seen& r, const std::string& inserted,
                 std::size_t slack = 16) {
  for (const auto& s : r.segments) {
    auto text = tok.decode(std::span(r.prompt).subspan(s.begin, s.end - s.begin), false);
    if (text.ok() && inserted.find(*text) != std::string::npos &&
        text->size() + slack >= inserted.size())
      return true;
  }
  return false;
}

std::string decoded(const tokenizer::Tokenizer& tok, const Seen& r) {
  std::string out;
  for (const auto& s : r.segments) {
    auto text = tok.decode(std::span(r.prompt).subspan(s.begin, s.end - s.begin), false);
    out += "[" + (text.ok() ? *text : "?") + "] ";
  }
  return out;
}

TEST(SegmentMarks, TemplatedOutputsToolResultsAndMapItemsReachTheEngine) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("agentrt-segments-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "segments.yaml";
  std::ofstream(path) << kWorkflow;
  auto loaded = workflows::check_workflow_file(path.string());
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  const auto inputs = workflows::resolve_inputs(loaded.workflow, {}, loaded.diagnostics);

  std::mutex mu;
  std::vector<Seen> seen;
  RuntimeOptions base;
  base.on_generate = [&](const EngineRequest& r) {
    std::lock_guard lk(mu);
    seen.push_back({r.prompt, r.segments, r.kv_reuse, r.blend_recompute});
  };
  RuntimePool pool{base};
  RunnerOptions opt;
  opt.fallback_model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  opt.kv_blocks = 1024;
  opt.min_segment_tokens = 4;
  auto runner = WorkflowRunner::create(loaded.workflow, opt, pool);
  ASSERT_TRUE(runner.ok()) << runner.error().to_string();
  const auto o = (*runner)->run(inputs);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(o.status.ok()) << o.status.error().to_string();
  const auto& tok = pool.all()[0]->tokenizer();
  ASSERT_FALSE(o.steps[0].samples.empty());
  ASSERT_FALSE(o.steps[0].samples[0].tool_records.empty()) << "tiny-calc made no tool call";
  const std::string solved = o.steps[0].output.to_text();

  auto find = [&](const std::string& text, KvReuse mode = KvReuse::blend) -> const Seen* {
    for (const auto& r : seen) {
      if (r.mode != mode) continue;
      auto p = tok.decode(r.prompt, false);
      if (p.ok() && p->find(text) != std::string::npos) return &r;
    }
    return nullptr;
  };
  std::lock_guard lk(mu);
  // The first step's prompt has nothing templated: no segments, though blend.
  const Seen* solve = find("Sam has 13 stamps");
  ASSERT_NE(solve, nullptr);
  EXPECT_EQ(solve->mode, KvReuse::blend);
  ASSERT_TRUE(solve->recompute.has_value());
  EXPECT_FLOAT_EQ(*solve->recompute, 0.3f);
  EXPECT_TRUE(solve->segments.empty()) << decoded(tok, *solve);

  const Seen* quote = find("The tool said: ");
  ASSERT_NE(quote, nullptr);
  EXPECT_EQ(quote->mode, KvReuse::blend);
  EXPECT_TRUE(has_span_of(tok, *quote, kToolSays)) << decoded(tok, *quote);
  if (solved.find(kToolSays) == std::string::npos) {  // else the output is cut around it
    EXPECT_TRUE(has_span_of(tok, *quote, solved)) << decoded(tok, *quote) << " vs " << solved;
  }
  for (std::size_t i = 1; i < quote->segments.size(); ++i)
    EXPECT_LE(quote->segments[i - 1].end, quote->segments[i].begin);
  // The tool result was a segment of solve's resumed turn, so its KV was in the segment
  // cache when quote's prompt quoted it: the only segment any step could find there.
  const auto segments = pool.all()[0]->metrics().segments;
  EXPECT_GE(segments.hits, 1) << "lookups " << segments.lookups << ", inserts " << segments.inserts;

  for (const char* item : {"Tara has 9 cookies and Quinn has 4 more cookies than Tara.",
                           "Jack has twice as many marbles as Xena, who has 6 marbles."}) {
    const Seen* r = find(std::string("Question: ") + item);
    ASSERT_NE(r, nullptr) << item;
    EXPECT_TRUE(has_span_of(tok, *r, item)) << decoded(tok, *r);
    EXPECT_EQ(r->segments.size(), 1u) << decoded(tok, *r);
  }
  // The exact step: no segments.
  int exact = 0;
  for (const auto& r : seen)
    if (r.mode == KvReuse::exact) {
      ++exact;
      EXPECT_TRUE(r.segments.empty());
    }
  EXPECT_EQ(exact, 1);
}

}  // namespace
}  // namespace agentrt::actors::workflow
