// `agentrt run WF.yaml --input NAME=VALUE ... [--model DIR] [--kv-store DIR] [--json]`:
// validates the workflow and its inputs, runs it on the actor runtime (CPU), shows live
// progress on a terminal (plain lines otherwise), and prints the outputs. With --kv-store,
// KV blocks are kept in a RocksDB store that later runs read back. SIGINT (Ctrl-C) or
// SIGTERM cancels the run; --json then still lists the steps and samples that finished.
// Exit: 0 done, 1 invalid workflow or a failed step, 2 usage, 130 cancelled.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors/workflow/workflow_runner.h"
#include "cli/cancel_signals.h"
#include "cli/command.h"
#include "cli/cpu_precision.h"
#include "cli/default_model.h"
#include "cli/flag_text.h"
#include "cli/flags/resource_flags.h"
#include "cli/json_output.h"
#include "cli/run_progress.h"
#include "cli/run_report.h"
#include "cli/workflow_args.h"
#include "engine/common/file_read.h"
#include "engine/model/weight_check.h"
#include "engine/scheduler/scheduler.h"
#include "storage/db.h"
#include "storage/kv_store.h"

namespace agentrt::cli {
namespace {

struct RunArgs {
  std::string file;
  std::vector<std::string> inputs;
  std::string model_dir;
  std::string backend;
  std::string kv_store;            // RocksDB directory for KV blocks; empty: off
  flags::ResourceFlags resources;  // --threads, --kv-blocks as given
  std::string check_weights = "sample";
  std::string cpu_precision;
  bool json = false;
  bool quiet = false;
  std::string schedule = "attained";
  bool blend_anchors = false;
  kv::AnchorOptions anchors;
};

// Runs the workflow; a signal cancels it from a watcher thread (handlers may not lock).
actors::workflow::WorkflowOutcome run_cancellable(actors::workflow::WorkflowRunner& runner,
                                                  const workflows::InputValues& inputs,
                                                  RunProgress& progress) {
  std::atomic<bool> finished{false};
  std::thread watcher([&] {
    while (!finished.load()) {
      if (take_cancel_signal() != 0) runner.cancel();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  auto outcome = runner.run(
      inputs, [&](const std::string& s, const std::string& l) { progress.on_event(s, l); });
  finished.store(true);
  watcher.join();
  return outcome;
}

int run_workflow(const RunArgs& a) {
  apply_cpu_precision(a.cpu_precision);
  if (a.file.empty()) return usage_error("run", "give a workflow file (agentrt run WF.yaml)");
  // stat only: a FIFO or device never blocks here, and a symlink loop is named as such.
  if (auto st = check_regular_file(a.file, kMaxWorkflowFileBytes); !st.ok())
    return usage_error("run", st.error().message);
  auto given = parse_input_flags(a.inputs);
  if (!given.ok()) return usage_error("run", given.error().message);
  auto resources = flags::parse_resource_flags(a.resources, std::thread::hardware_concurrency());
  if (!resources.ok()) return usage_error("run", resources.error().message);
  install_cancel_signals();  // before the model loads: a signal during loading cancels too
  const auto checked = check_workflow(a.file, *given, true);
  if (!checked.loaded.ok()) {
    std::fprintf(stderr, "%s", checked.loaded.diagnostics.to_string().c_str());
    return kExitFailure;
  }
  const auto& wf = checked.loaded.workflow;
  actors::workflow::RunnerOptions opt;
  opt.model_dir = a.model_dir;
  opt.backend = a.backend;
  opt.fallback_model_dir = default_model_dir().string();
  opt.threads = resources->threads;
  opt.kv_blocks = resources->kv_blocks;
  opt.weight_check = *model::parse_weight_check(a.check_weights);  // CLI11 checked the name
  actors::RuntimeOptions base;
  base.engine.order = *scheduler::parse_order(a.schedule);  // CLI11 checked the name
  base.engine.blend_anchors = a.blend_anchors;
  base.engine.anchors = a.anchors;
  std::shared_ptr<storage::Db> db;  // outlives the pool: ~Runtime flushes KV into it
  if (!a.kv_store.empty()) {
    auto opened = storage::Db::open(a.kv_store);
    if (!opened.ok()) {
      std::fprintf(stderr, "agentrt run: --kv-store: %s\n", opened.error().message.c_str());
      return kExitFailure;
    }
    db = *opened;
    for (const auto& p : db->recovered_problems())
      std::fprintf(stderr, "agentrt run: --kv-store: %s\n", p.c_str());
    base.persistent = storage::KvStore::tier_factory(db, {});
  }
  actors::RuntimePool pool{std::move(base)};
  auto runner = actors::workflow::WorkflowRunner::create(wf, opt, pool);
  if (!runner.ok()) {
    std::fprintf(stderr, "agentrt run: %s\n", runner.error().message.c_str());
    return kExitFailure;
  }
  RunProgress progress(**runner, isatty(STDERR_FILENO) == 1, a.quiet);
  const auto outcome = run_cancellable(**runner, checked.inputs, progress);
  remove_cancel_signals();
  progress.finish();
  if (a.json) {
    std::printf("%s\n", dump_json(run_report_json(wf, outcome)).c_str());
  } else if (outcome.status.ok()) {
    print_run_report_text(outcome);
  }
  if (!outcome.status.ok()) {
    std::fprintf(stderr, "agentrt run: %s\n", outcome.status.error().message.c_str());
    return outcome.status.error().code == ErrorCode::cancelled ? kExitCancelled : kExitFailure;
  }
  return kExitOk;
}

}  // namespace

CommandFn add_run_command(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run a workflow (YAML) on the actor runtime");
  cmd->add_option("file", a->file, "Workflow YAML file");
  cmd->add_option("--input", a->inputs, "NAME=VALUE (or NAME=@FILE), repeatable");
  cmd->add_option("--model", a->model_dir,
                  "Model directory for the workflow's default model (default: tiny-calc)");
  cmd->add_option("--backend", a->backend, "cpu or cuda, for the default model")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  add_flag_text(cmd, "--threads", a->resources.threads,
                "CPU threads (0 = the workflow's, else all cores; at most 4 per hardware "
                "thread, 256)");
  add_schedule_option(cmd, a->schedule);
  add_blend_anchor_flags(cmd, a->blend_anchors, a->anchors);
  add_flag_text(cmd, "--kv-blocks", a->resources.kv_blocks,
                "KV cache blocks of 16 tokens (0 = 2048; at most 4194304)");
  cmd->add_option("--kv-store", a->kv_store,
                  "Keep KV blocks in a RocksDB store in DIR (created if missing); later runs "
                  "over it prefill only what it lacks (default: off)")
      ->type_name("DIR");
  add_cpu_precision_flag(cmd, a->cpu_precision);
  add_check_weights_flag(cmd, a->check_weights);
  cmd->add_flag("--json", a->json, "Print one JSON object: outputs, steps, samples, KV reuse");
  cmd->add_flag("--quiet", a->quiet, "No progress on stderr");
  return [a]() { return run_workflow(*a); };
}

}  // namespace agentrt::cli
