// Test helper for the cluster tests that compare a distributed run with one process: the
// outputs of an in-process run of a workflow (tiny-calc, 1 thread, 512 KV blocks), as JSON in
// the shape a job report and the REST job view give them. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "actors/runtime_pool.h"
#include "actors/workflow/workflow_runner.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"

namespace agentrt::cluster::test_reference {

inline nlohmann::json one_process_outputs(
    actors::RuntimePool& pool, const std::string& model_dir, const std::string& yaml,
    const std::string& file, const std::vector<std::pair<std::string, std::string>>& given = {}) {
  auto loaded = workflows::load_workflow(yaml, file);
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  workflows::Diagnostics diags;
  auto inputs = workflows::resolve_inputs(loaded.workflow, given, diags);
  actors::workflow::RunnerOptions opt;
  opt.model_dir = model_dir;
  opt.threads = 1;
  opt.kv_blocks = 512;
  auto runner = actors::workflow::WorkflowRunner::create(loaded.workflow, opt, pool);
  EXPECT_TRUE(runner.ok());
  if (!runner.ok()) return {};
  auto outcome = (*runner)->run(inputs);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status.error().to_string();
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, v] : outcome.outputs)
    out[name] = v.is_list() ? nlohmann::json(v.list()) : nlohmann::json(v.text());
  return out;
}

}  // namespace agentrt::cluster::test_reference
