// `agentrt serve --cluster-port 0` with one `agentrt node`: a REST job runs on the node (the
// server's log says so) and ends with the outputs of a one-process run.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "actors/runtime_pool.h"
#include "actors/workflow/workflow_runner.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"

#include "cluster/cluster_test_process.h"

namespace agentrt::cluster {
namespace {

using namespace std::chrono_literals;
const std::string kSource = AGENTRT_SOURCE_DIR;
const std::string kModel = kSource + "/models/tiny-calc";

using test_process::Child;
using test_process::read_text;
using test_process::wait_for;

TEST(ClusterServe, RestJobRunsOnAJoinedNodeWithTheOutputsOfOneProcess) {
  const std::string dir = ::testing::TempDir() + "cluster_serve_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string secret = dir + "/secret";
  std::ofstream(secret) << "serve-test-secret-0123456789\n";
  const std::string serve_log = dir + "/serve.log";
  Child serve(
      {AGENTRT_BIN, "serve", "--port", "0", "--data", dir + "/data", "--model", kModel, "--threads",
       "1", "--kv-blocks", "512", "--cluster-port", "0", "--cluster-secret-file", secret},
      serve_log);
  const std::string http_port = wait_for(serve_log, R"(serving on http://127\.0\.0\.1:(\d+))", 30s);
  const std::string cluster_port = wait_for(serve_log, R"(workers join at 127\.0\.0\.1:(\d+))", 5s);
  ASSERT_FALSE(http_port.empty()) << read_text(serve_log);
  ASSERT_FALSE(cluster_port.empty()) << read_text(serve_log);
  Child node({AGENTRT_BIN, "node", "--join", "127.0.0.1:" + cluster_port, "--secret-file", secret,
              "--name", "n1", "--model", kModel, "--threads", "1", "--kv-blocks", "512"},
             dir + "/node.log");
  ASSERT_FALSE(wait_for(serve_log, "node 1 'n1' joined", 30s).empty())
      << read_text(dir + "/node.log");

  const std::string file = kSource + "/workflows/examples/map_questions.yaml";
  httplib::Client http("127.0.0.1", std::stoi(http_port));
  // The job's kv_reuse override goes with it to the node (exact: the example's own mode, so
  // the outputs stay those of one process).
  nlohmann::json body = {{"yaml", read_text(file)}, {"kv_reuse", "exact"}, {"program", "user-7"}};
  auto posted = http.Post("/v1/jobs", body.dump(), "application/json");
  ASSERT_TRUE(posted);
  ASSERT_LT(posted->status, 300) << posted->body;
  const std::string id = nlohmann::json::parse(posted->body).at("id");
  nlohmann::json job;
  const auto until = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < until) {
    auto got = http.Get("/v1/jobs/" + id);
    ASSERT_TRUE(got);
    job = nlohmann::json::parse(got->body);
    if (job.value("state", "") != "queued" && job.value("state", "") != "running") break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(job.value("state", ""), "succeeded") << job.dump();
  EXPECT_FALSE(wait_for(serve_log, "job " + id + " runs on the cluster", 1s).empty());
  // Its program reaches the router (program_affinity keeps a program's jobs on one node).
  EXPECT_FALSE(wait_for(serve_log, "job " + id + " \\(attempt 0, program user-7\\)", 1s).empty())
      << read_text(serve_log);
  EXPECT_EQ(job.value("program", ""), "user-7");
  EXPECT_FALSE(wait_for(serve_log, "the job ran on n1", 1s).empty());
  EXPECT_FALSE(wait_for(dir + "/node.log", "kv_reuse override exact", 1s).empty())
      << read_text(dir + "/node.log");
  // The server's /metrics shows the node and the job routed to it.
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("agentrt:cluster_nodes 1\n"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("agentrt:cluster_node_jobs_routed_total{node=\"n1\"} 1\n"),
            std::string::npos)
      << metrics->body;

  auto loaded = workflows::load_workflow(read_text(file), file);
  workflows::Diagnostics diags;
  auto inputs = workflows::resolve_inputs(loaded.workflow, {}, diags);
  actors::RuntimePool pool{actors::RuntimeOptions{}};
  actors::workflow::RunnerOptions opt;
  opt.model_dir = kModel;
  opt.threads = 1;
  opt.kv_blocks = 512;
  auto runner = actors::workflow::WorkflowRunner::create(loaded.workflow, opt, pool);
  ASSERT_TRUE(runner.ok());
  auto outcome = (*runner)->run(inputs);
  ASSERT_TRUE(outcome.status.ok());
  for (const auto& [name, v] : outcome.outputs)
    EXPECT_EQ(job["outputs"][name],
              v.is_list() ? nlohmann::json(v.list()) : nlohmann::json(v.text()))
        << name;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace agentrt::cluster
