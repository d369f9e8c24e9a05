// job_prefix (job_prefix.h) against the prompt the workflow runner really sends: an agent
// with a tool (map_questions' solver and its calculator) is keyed with the tool definitions
// the template renders, so the job's keys match the engine's up to the step's input.
#include "cluster/job_prefix.h"

#include <gtest/gtest.h>

#include <mutex>

#include "actors/runtime_pool.h"
#include "actors/workflow/workflow_runner.h"
#include "cluster/cluster_test_process.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"

namespace agentrt::cluster {
namespace {

const std::string kSource = AGENTRT_SOURCE_DIR;
const std::string kModel = kSource + "/models/tiny-calc";

using test_process::read_text;

TEST(JobPrefix, KeysAnAgentsToolsAsTheRunnerRendersThem) {
  const std::string file = kSource + "/workflows/examples/map_questions.yaml";
  const std::string yaml = read_text(file);
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {"questions", R"(["Ben has 7 apples. He gets 5 more. How many apples does Ben have?"])"}};

  // The first request the runner sends to the engine.
  std::mutex mu;
  std::vector<std::int32_t> sent;
  actors::RuntimeOptions options;
  options.on_generate = [&](const EngineRequest& r) {
    std::lock_guard lock(mu);
    if (sent.empty()) sent = r.prompt;
  };
  actors::RuntimePool pool{options};
  auto loaded = workflows::load_workflow(yaml, file);
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics.to_string();
  auto values = workflows::resolve_inputs(loaded.workflow, inputs, loaded.diagnostics);
  actors::workflow::RunnerOptions ro;
  ro.model_dir = kModel;
  ro.threads = 1;
  ro.kv_blocks = 128;
  auto runner = actors::workflow::WorkflowRunner::create(loaded.workflow, ro, pool);
  ASSERT_TRUE(runner.ok()) << runner.error().message;
  auto outcome = (*runner)->run(values);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error().message;

  actors::ModelKey key;
  key.dir = kModel;
  key.threads = 1;
  key.kv_blocks = 128;
  key.max_live_requests = actors::workflow::kDefaultRunnerLiveRequests;
  auto rt = pool.get(key);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  auto prefix = job_prefix(**rt, yaml, file, inputs);
  ASSERT_TRUE(prefix.ok()) << prefix.error().message;
  std::lock_guard lock(mu);
  ASSERT_FALSE(sent.empty());
  const auto engine_keys =
      block_keys(sent, (*rt)->kv_geometry().block_size, (*rt)->kv_key_fingerprint());
  std::size_t same = 0;
  while (same < prefix->blocks.size() && same < engine_keys.size() &&
         prefix->blocks[same] == engine_keys[same])
    ++same;
  // The map item is rendered empty: the keys part where the user's message starts, in the
  // last block of the job's prompt at the latest.
  EXPECT_GE(same + 1, prefix->blocks.size()) << same << " of " << prefix->blocks.size();
  // The calculator's definition fills blocks past the two-line system text (without the
  // tools, the keys stopped matching inside the third block).
  EXPECT_GE(same, 6u) << "matching blocks: " << same;
}

}  // namespace
}  // namespace agentrt::cluster
