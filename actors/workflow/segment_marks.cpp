// Segments of a unit's prompt (issue 21, actors/prompt_segments.h): the text a workflow
// templates into a step (step outputs and fields, map items, documents from the inputs,
// loop.previous) and the tool results of earlier steps quoted in it, marked for the
// engine's blend reuse without user markup.
#include "actors/workflow/runner_impl.h"

namespace agentrt::actors::workflow {
namespace {

// A tool result shorter than this is not searched for (it would rarely make a segment of
// kMinSegmentTokens tokens, and short text recurs by chance).
constexpr std::size_t kMinToolResultBytes = 32;

KvReuse engine_mode(workflows::KvReuseMode m) {
  return m == workflows::KvReuseMode::blend ? KvReuse::blend : KvReuse::exact;
}

}  // namespace

Result<std::string> WorkflowRunner::Impl::render_marked(const workflows::TemplateText& t,
                                                        const Extras& extras,
                                                        std::vector<TextSpan>& marks) const {
  std::vector<workflows::TemplateMark> m;
  auto v = t.tpl.render([&](const std::vector<std::string>& p) { return lookup(p, extras); }, &m);
  if (!v.ok()) return v.error();
  for (const auto& x : m)
    marks.push_back({x.begin, x.end});
  return v->to_text();
}

void WorkflowRunner::Impl::set_kv_reuse(AgentSpec& agent, const workflows::AgentSpec& wa,
                                        const workflows::Step& step, const std::string& input,
                                        std::vector<TextSpan> input_marks) const {
  const auto k = wf.kv_reuse_of(wa, step);
  agent.kv_reuse = engine_mode(*k.mode);
  if (k.blend_recompute) agent.blend_recompute = static_cast<float>(*k.blend_recompute);
  agent.blend_anchors = k.blend_anchors;
  agent.min_segment_tokens = opt.min_segment_tokens;
  if (agent.kv_reuse != KvReuse::blend) return;
  std::vector<TextSpan> system_marks;
  if (render_marked(wa.system, {}, system_marks).ok())
    agent.system_segments = merge_spans(std::move(system_marks), {});
  std::vector<TextSpan> quoted;
  {
    std::lock_guard lk(mu);
    for (std::size_t j = 0; j < results.size(); ++j) {
      if (status[j].state != StepState::done) continue;
      for (const auto& smp : results[j].samples)
        for (const auto& rec : smp.tool_records) {
          // A capped record is not the text the agent saw.
          if (!rec.ok || rec.result.size() < kMinToolResultBytes ||
              rec.result.size() >= kToolRecordTextBytes)
            continue;
          auto at = find_all(input, rec.result);
          quoted.insert(quoted.end(), at.begin(), at.end());
        }
    }
  }
  agent.input_segments = merge_spans(std::move(input_marks), std::move(quoted));
}

}  // namespace agentrt::actors::workflow
