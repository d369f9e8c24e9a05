// `agentrt run WF.yaml --input NAME=VALUE ... [--model DIR] [--json]`: validates the
// workflow and its inputs, runs it on the actor runtime (CPU), shows live progress on a
// terminal (plain lines otherwise), and prints the outputs. Ctrl-C cancels the run.
// Exit: 0 done, 1 invalid workflow or a failed step, 2 usage, 130 cancelled.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "actors/workflow/workflow_runner.h"
#include "cli/command.h"
#include "cli/default_model.h"
#include "cli/run_progress.h"
#include "cli/workflow_args.h"

namespace agentrt::cli {
namespace {

constexpr int kExitCancelled = 130;

struct RunArgs {
  std::string file;
  std::vector<std::string> inputs;
  std::string model_dir;
  std::string backend;
  int threads = 0;
  int kv_blocks = 0;
  bool json = false;
  bool quiet = false;
};

std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int) {
  g_interrupted.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

nlohmann::json to_json(const workflows::Value& v) {
  return v.is_list() ? nlohmann::json(v.list()) : nlohmann::json(v.text());
}

nlohmann::json outcome_json(const workflows::Workflow& wf,
                            const actors::workflow::WorkflowOutcome& o) {
  nlohmann::json outputs = nlohmann::json::object();
  for (const auto& [name, v] : o.outputs)
    outputs[name] = to_json(v);
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& r : o.steps) {
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& s : r.samples)
      samples.push_back({{"finished", s.finished},
                         {"answer", s.answer ? nlohmann::json(*s.answer) : nlohmann::json()},
                         {"tokens", s.tokens},
                         {"tool_calls", s.tool_calls},
                         {"error", s.error},
                         {"messages", nlohmann::json::parse(s.messages, nullptr, false)}});
    nlohmann::json fields = nlohmann::json::object();
    for (const auto& [k, v] : r.fields)
      fields[k] = to_json(v);
    steps.push_back({{"id", r.status.id},
                     {"state", actors::workflow::to_string(r.status.state)},
                     {"tokens", r.status.tokens},
                     {"tool_calls", r.status.tool_calls},
                     {"seconds", r.status.elapsed},
                     {"error", r.status.error},
                     {"output", to_json(r.output)},
                     {"fields", fields},
                     {"samples", samples}});
  }
  nlohmann::json kv = nlohmann::json::array();
  for (const auto& m : o.metrics)
    kv.push_back({{"lookup_tokens", m.kv.lookup_tokens},
                  {"hit_tokens", m.kv.hit_tokens[0]},
                  {"prefilled_tokens", m.engine.prefilled_tokens},
                  {"decoded_tokens", m.engine.decoded_tokens}});
  return {{"workflow", wf.name},
          {"ok", o.status.ok()},
          {"error", o.status.ok() ? "" : o.status.error().message},
          {"outputs", outputs},
          {"steps", steps},
          {"engines", kv},
          {"seconds", o.seconds}};
}

void print_text(const actors::workflow::WorkflowOutcome& o) {
  for (const auto& [name, v] : o.outputs) {
    const std::string text = v.to_text();
    if (text.find('\n') == std::string::npos) {
      std::printf("%s: %s\n", name.c_str(), text.c_str());
    } else {
      std::printf("%s:\n", name.c_str());
      for (const auto& line : workflows::Value(text).to_list())
        std::printf("  %s\n", line.c_str());
    }
  }
  for (const auto& m : o.metrics)
    std::fprintf(stderr, "[%.2f s; KV: %lld of %lld prompt tokens reused from the cache]\n",
                 o.seconds, static_cast<long long>(m.kv.hit_tokens[0]),
                 static_cast<long long>(m.kv.lookup_tokens));
}

int run_workflow(const RunArgs& a) {
  std::error_code ec;
  if (a.file.empty() || !std::filesystem::is_regular_file(a.file, ec)) {
    std::fprintf(stderr, "agentrt run: %s\n",
                 a.file.empty() ? "give a workflow file (agentrt run WF.yaml)"
                                : (a.file + ": no such file").c_str());
    return kExitUsage;
  }
  auto given = parse_input_flags(a.inputs);
  if (!given.ok()) {
    std::fprintf(stderr, "agentrt run: %s\n", given.error().message.c_str());
    return kExitUsage;
  }
  g_interrupted.store(false);
  std::signal(SIGINT, on_sigint);  // before the model loads: Ctrl-C during loading cancels too
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
  opt.threads = a.threads;
  opt.kv_blocks = a.kv_blocks;
  auto runner = actors::workflow::WorkflowRunner::create(wf, opt);
  if (!runner.ok()) {
    std::fprintf(stderr, "agentrt run: %s\n", runner.error().message.c_str());
    return kExitFailure;
  }
  RunProgress progress(**runner, isatty(STDERR_FILENO) == 1, a.quiet);
  std::atomic<bool> finished{false};
  std::thread watcher([&] {  // signal handlers may not lock: cancel from a thread
    while (!finished.load()) {
      if (g_interrupted.exchange(false)) (*runner)->cancel();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  auto outcome = (*runner)->run(
      checked.inputs, [&](const std::string& s, const std::string& l) { progress.on_event(s, l); });
  finished.store(true);
  watcher.join();
  std::signal(SIGINT, SIG_DFL);
  progress.finish();
  if (a.json) {
    std::printf("%s\n", outcome_json(wf, outcome).dump().c_str());
  } else if (outcome.status.ok()) {
    print_text(outcome);
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
  cmd->add_option("--threads", a->threads, "CPU threads (0 = the workflow's, else all cores)");
  cmd->add_option("--kv-blocks", a->kv_blocks, "KV cache blocks of 16 tokens (0 = 2048)");
  cmd->add_flag("--json", a->json, "Print one JSON object: outputs, steps, samples, KV reuse");
  cmd->add_flag("--quiet", a->quiet, "No progress on stderr");
  return [a]() { return run_workflow(*a); };
}

}  // namespace agentrt::cli
