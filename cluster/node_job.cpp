// NodeJob (node_job.h): loads a JobSpec's workflow and runs it with its resume state.
#include "cluster/node_job.h"

#include <cstdio>

#include "actors/workflow/checkpoint.h"
#include "actors/workflow/workflow_runner.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"
#include "workflows/validator.h"

namespace agentrt::cluster {
namespace {

namespace wf = actors::workflow;
using nlohmann::json;

json value_json(const workflows::Value& v) {
  if (v.is_list()) return json(v.list());
  return json(v.text());
}

std::string report_of(const wf::WorkflowOutcome& outcome) {
  json outputs = json::object();
  for (const auto& [name, value] : outcome.outputs)
    outputs[name] = value_json(value);
  json steps = json::array();
  for (const auto& s : outcome.steps)
    steps.push_back(wf::to_json(s));
  json report = {{"outputs", std::move(outputs)}, {"steps", std::move(steps)}};
  return report.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

wf::RunHooks checkpoint_hooks(std::function<void(NamedText)> checkpoint) {
  wf::RunHooks hooks;
  hooks.step_done = [checkpoint](int step, const wf::StepResult& r) {
    checkpoint({"step:" + std::to_string(step),
                wf::to_json(r).dump(-1, ' ', false, json::error_handler_t::replace)});
  };
  hooks.unit_done = [checkpoint](int step, int unit, const wf::UnitOutcome& u) {
    checkpoint({"unit:" + std::to_string(step) + ":" + std::to_string(unit),
                wf::to_json(u).dump(-1, ' ', false, json::error_handler_t::replace)});
  };
  return hooks;
}

JobResultMsg job_result(const std::string& job, std::int32_t attempt,
                        const wf::WorkflowOutcome& outcome) {
  JobResultMsg r;
  r.job = job;
  r.attempt = attempt;
  if (!outcome.status.ok()) {
    r.error_code = static_cast<std::int32_t>(outcome.status.error().code);
    r.error_message = outcome.status.error().message;
  }
  r.report = report_of(outcome);
  return r;
}

Result<wf::ResumeState> resume_state_of(const std::vector<NamedText>& checkpoints) {
  wf::ResumeState rs;
  for (const auto& c : checkpoints) {
    json doc = json::parse(c.text, nullptr, false);
    if (doc.is_discarded())
      return make_error(ErrorCode::corrupt, "checkpoint " + c.key + " is not JSON");
    int step = -1, unit = -1;
    char tail = 0;
    if (std::sscanf(c.key.c_str(), "unit:%d:%d%c", &step, &unit, &tail) == 2) {
      auto u = wf::unit_outcome_from_json(doc);
      if (!u.ok())
        return make_error(ErrorCode::corrupt, "checkpoint " + c.key + ": " + u.error().message);
      rs.units[{step, unit}] = std::move(*u);
    } else if (std::sscanf(c.key.c_str(), "step:%d%c", &step, &tail) == 1) {
      auto s = wf::step_result_from_json(doc);
      if (!s.ok())
        return make_error(ErrorCode::corrupt, "checkpoint " + c.key + ": " + s.error().message);
      rs.steps[step] = std::move(*s);
    } else {
      return make_error(ErrorCode::corrupt, "checkpoint with an unknown key '" + c.key + "'");
    }
  }
  return rs;
}

Status apply_kv_reuse(const JobSpec& spec, workflows::Workflow& wf) {
  if (spec.kv_reuse.empty()) return ok_status();
  workflows::KvReuseSpec k;
  if (spec.kv_reuse == "exact") {
    k.mode = workflows::KvReuseMode::exact;
  } else if (spec.kv_reuse == "blend") {
    k.mode = workflows::KvReuseMode::blend;
  } else {
    return make_error(
        ErrorCode::invalid_argument,
        "job " + spec.job + ": kv_reuse '" + spec.kv_reuse + "': expected exact or blend");
  }
  if (spec.blend_recompute_ppm > 1000000)
    return make_error(ErrorCode::invalid_argument, "job " + spec.job + ": blend_recompute " +
                                                       std::to_string(spec.blend_recompute_ppm) +
                                                       " millionths: expected a value in [0, 1]");
  if (spec.blend_recompute_ppm >= 0) k.blend_recompute = spec.blend_recompute_ppm / 1e6;
  if (spec.blend_anchors > 1 || spec.blend_anchors < -1)
    return make_error(ErrorCode::invalid_argument, "job " + spec.job + ": blend_anchors " +
                                                       std::to_string(spec.blend_anchors) +
                                                       ": expected -1 (unset), 0 or 1");
  if (spec.blend_anchors >= 0) k.blend_anchors = spec.blend_anchors == 1;
  wf.override_kv_reuse(k);
  return ok_status();
}

Result<std::unique_ptr<NodeJob>> NodeJob::start(const JobSpec& spec, const NodeJobOptions& options,
                                                actors::RuntimePool& pool, CheckpointFn checkpoint,
                                                DoneFn done) {
  auto loaded = workflows::load_workflow(spec.workflow_yaml, spec.workflow_file);
  if (loaded.parsed && loaded.ok())
    workflows::validate_workflow(loaded.workflow, loaded.diagnostics);
  std::vector<std::pair<std::string, std::string>> given;
  for (const auto& i : spec.inputs)
    given.emplace_back(i.key, i.text);
  workflows::InputValues inputs;
  if (loaded.parsed && loaded.ok())
    inputs = workflows::resolve_inputs(loaded.workflow, given, loaded.diagnostics);
  if (!loaded.ok()) return make_error(ErrorCode::invalid_argument, loaded.diagnostics.to_string());
  if (auto st = apply_kv_reuse(spec, loaded.workflow); !st.ok()) return st.error();
  auto resume = resume_state_of(spec.resume);
  if (!resume.ok()) return resume.error();

  wf::RunnerOptions opt;
  opt.model_dir = options.model_dir;
  opt.fallback_model_dir = options.fallback_model_dir;
  opt.backend = options.backend;
  opt.threads = options.threads;
  opt.kv_blocks = options.kv_blocks;
  auto runner = wf::WorkflowRunner::create(loaded.workflow, opt, pool);
  if (!runner.ok()) return runner.error();

  std::unique_ptr<NodeJob> job(new NodeJob());
  job->runner_ = std::move(*runner);
  const std::string id = spec.job;
  const std::int32_t attempt = spec.attempt;
  auto st = job->runner_->start(
      inputs, checkpoint_hooks(std::move(checkpoint)), std::move(*resume),
      [id, attempt, done](wf::WorkflowOutcome outcome) { done(job_result(id, attempt, outcome)); });
  if (!st.ok()) return st.error();
  return job;
}

NodeJob::~NodeJob() = default;

void NodeJob::cancel() {
  if (runner_) runner_->cancel();
}

}  // namespace agentrt::cluster
