// `agentrt serve --cluster-route turns` with two `agentrt node`s (tiny-calc on the CPU): REST
// jobs run on the server while their agents' turns go to the workers' engines, with the
// outputs of a one-process run; a worker killed mid-job costs nothing but a rerun of the jobs
// it held turns of, and it rejoins.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "actors/runtime_pool.h"

#include "cluster/cluster_test_process.h"
#include "cluster/cluster_test_reference.h"
#include "cluster/cluster_test_store.h"

namespace agentrt::cluster {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
const std::string kSource = AGENTRT_SOURCE_DIR;
const std::string kModel = kSource + "/models/tiny-calc";

using test_process::Child;
using test_process::read_text;
using test_process::wait_for;

std::string example(const std::string& name) {
  return kSource + "/workflows/examples/" + name + ".yaml";
}

// The outputs of a one-process run of the example, as the REST job shows them.
Json one_process_outputs(const std::string& name,
                         const std::vector<std::pair<std::string, std::string>>& given = {}) {
  actors::RuntimePool pool{actors::RuntimeOptions{}};
  return test_reference::one_process_outputs(pool, kModel, read_text(example(name)), example(name),
                                             given);
}

// The value of a per-node metric sample, or -1.
long metric(httplib::Client& http, const std::string& name, const std::string& node) {
  auto got = http.Get("/metrics");
  if (!got) return -1;
  const std::regex re(name + "\\{node=\"" + node + "\"\\} (\\d+)");
  std::smatch m;
  if (!std::regex_search(got->body, m, re)) return -1;
  return std::stol(m[1].str());
}

std::string post(httplib::Client& http, const std::string& name, Json inputs = Json::object()) {
  Json body = {{"yaml", read_text(example(name))}, {"inputs", std::move(inputs)}};
  auto posted = http.Post("/v1/jobs", body.dump(), "application/json");
  if (!posted || posted->status >= 300) return "";
  return Json::parse(posted->body).at("id");
}

Json wait_job(httplib::Client& http, const std::string& id) {
  Json job;
  const auto until = std::chrono::steady_clock::now() + 90s;
  while (std::chrono::steady_clock::now() < until) {
    auto got = http.Get("/v1/jobs/" + id);
    if (!got) break;
    job = Json::parse(got->body);
    const std::string state = job.value("state", "");
    if (state != "queued" && state != "running") break;
    std::this_thread::sleep_for(50ms);
  }
  return job;
}

class ClusterTurns : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "cluster_turns_" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
    secret_ = dir_ + "/secret";
    std::ofstream(secret_) << "turns-test-secret-0123456789\n";
    serve_log_ = dir_ + "/serve.log";
    // Round robin: consecutive turns land on both workers whatever their caches hold.
    serve_ = std::make_unique<Child>(std::vector<std::string>{AGENTRT_BIN,
                                                              "serve",
                                                              "--port",
                                                              "0",
                                                              "--data",
                                                              dir_ + "/data",
                                                              "--model",
                                                              kModel,
                                                              "--threads",
                                                              "1",
                                                              "--kv-blocks",
                                                              "512",
                                                              "--max-running-jobs",
                                                              "2",
                                                              "--cluster-port",
                                                              "0",
                                                              "--cluster-secret-file",
                                                              secret_,
                                                              "--cluster-route",
                                                              "turns",
                                                              "--cluster-policy",
                                                              "round_robin"},
                                     serve_log_);
    http_port_ = wait_for(serve_log_, R"(serving on http://127\.0\.0\.1:(\d+))", 30s);
    cluster_port_ = wait_for(serve_log_, R"(workers join at 127\.0\.0\.1:(\d+))", 5s);
    ASSERT_FALSE(http_port_.empty()) << read_text(serve_log_);
    ASSERT_FALSE(cluster_port_.empty()) << read_text(serve_log_);
    start_node("n1");
    start_node("n2");
    ASSERT_FALSE(wait_for(serve_log_, "node 1 '.*' takes agent turns", 30s).empty())
        << read_text(serve_log_);
    ASSERT_FALSE(wait_for(serve_log_, "node 2 '.*' takes agent turns", 30s).empty())
        << read_text(serve_log_);
  }
  void TearDown() override {
    nodes_.clear();
    serve_.reset();
    std::filesystem::remove_all(dir_);
  }
  void start_node(const std::string& name) {
    nodes_[name] = std::make_unique<Child>(
        std::vector<std::string>{AGENTRT_BIN, "node", "--join", "127.0.0.1:" + cluster_port_,
                                 "--secret-file", secret_, "--name", name, "--model", kModel,
                                 "--threads", "1", "--kv-blocks", "512", "--kv-store",
                                 dir_ + "/" + name + "-kv"},
        dir_ + "/" + name + ".log");
  }

  std::string dir_, secret_, serve_log_, http_port_, cluster_port_;
  std::unique_ptr<Child> serve_;
  std::map<std::string, std::unique_ptr<Child>> nodes_;
};

TEST_F(ClusterTurns, JobsRunHereWithTheirTurnsOnTheWorkersAndTheOutputsOfOneProcess) {
  httplib::Client http("127.0.0.1", std::stoi(http_port_));
  // A best-of group's samples are routed one by one: round robin splits four over both
  // workers (greedy samples, so the vote is one process's).
  const std::string best = post(http, "best_of_majority", {{"n", 4}, {"temperature", 0}});
  ASSERT_FALSE(best.empty());
  const Json best_job = wait_job(http, best);
  ASSERT_EQ(best_job.value("state", ""), "succeeded") << best_job.dump();
  EXPECT_EQ(best_job["outputs"],
            one_process_outputs("best_of_majority", {{"n", "4"}, {"temperature", "0"}}));
  EXPECT_EQ(metric(http, "agentrt:cluster_node_turns_routed_total", "n1"), 2);
  EXPECT_EQ(metric(http, "agentrt:cluster_node_turns_routed_total", "n2"), 2);
  // A map of tool-calling agents, a structured-output (JSON schema) map, a team with a
  // verifier: greedy, so one process's outputs are the reference.
  for (const std::string name : {"map_questions", "schema_map", "team_review"}) {
    const std::string id = post(http, name);
    ASSERT_FALSE(id.empty()) << name;
    const Json job = wait_job(http, id);
    ASSERT_EQ(job.value("state", ""), "succeeded") << name << ": " << job.dump();
    EXPECT_EQ(job["outputs"], one_process_outputs(name)) << name;
  }
  // Turns went to both workers, none to the server's own engine; the jobs ran on it.
  EXPECT_GT(metric(http, "agentrt:cluster_node_turns_routed_total", "n1"), 0);
  EXPECT_GT(metric(http, "agentrt:cluster_node_turns_routed_total", "n2"), 0);
  EXPECT_EQ(metric(http, "agentrt:cluster_node_turns_routed_total", "local"), 0);
  EXPECT_EQ(metric(http, "agentrt:cluster_node_jobs_routed_total", "local"), 4);
  EXPECT_EQ(metric(http, "agentrt:cluster_node_jobs_routed_total", "n1"), 0);
}

TEST_F(ClusterTurns, AWorkerKilledMidJobCostsARerunWithTheSameOutputsAndRejoins) {
  httplib::Client http("127.0.0.1", std::stoi(http_port_));
  const Json expected = one_process_outputs("map_questions");
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    ids.push_back(post(http, "map_questions"));
    ASSERT_FALSE(ids.back().empty());
  }
  // As soon as n1 holds a turn, kill it.
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (metric(http, "agentrt:cluster_node_turns_routed_total", "n1") <= 0 &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  ::kill(nodes_["n1"]->pid, SIGKILL);
  for (const auto& id : ids) {
    const Json job = wait_job(http, id);
    ASSERT_EQ(job.value("state", ""), "succeeded") << job.dump() << read_text(serve_log_);
    EXPECT_EQ(job["outputs"], expected);
  }
  EXPECT_FALSE(wait_for(serve_log_, "node \\d+ 'n1' is dead", 1s).empty()) << read_text(serve_log_);
  // At least the job that held the killed turn ran again from its checkpoints.
  EXPECT_FALSE(wait_for(serve_log_, "failed after a node was lost", 1s).empty())
      << read_text(serve_log_);
  // The worker comes back as a new member and takes turns again.
  start_node("n1");
  ASSERT_FALSE(wait_for(serve_log_, "node 3 'n1' takes agent turns", 30s).empty())
      << read_text(serve_log_);
  const std::string id = post(http, "map_questions");
  const Json job = wait_job(http, id);
  ASSERT_EQ(job.value("state", ""), "succeeded") << job.dump();
  EXPECT_EQ(job["outputs"], expected);
  EXPECT_GT(metric(http, "agentrt:cluster_node_turns_routed_total", "n1"), 0);
}

TEST_F(ClusterTurns, ADeadWorkersStoreServesItsTurnsWhenTheyRunAgainElsewhere) {
  httplib::Client http("127.0.0.1", std::stoi(http_port_));
  const Json expected = one_process_outputs("map_questions");
  // Round robin puts the map's units on both workers; each writes its turns' blocks behind.
  const std::string first = post(http, "map_questions");
  ASSERT_EQ(wait_job(http, first).value("state", ""), "succeeded");
  ASSERT_TRUE(test_store::wait_for_blocks(dir_ + "/n1-kv", 1, 10s)) << read_text(dir_ + "/n1.log");
  ::kill(nodes_["n1"]->pid, SIGKILL);
  ASSERT_FALSE(wait_for(serve_log_, "node \\d+ 'n1' is dead", 10s).empty());
  // The coordinator names n1's store to n2, which holds it open.
  ASSERT_FALSE(wait_for(dir_ + "/n2.log", "holds the dead node's KV store .*n1-kv", 10s).empty())
      << read_text(dir_ + "/n2.log");
  // The same job again, all on n2: the units n1 ran find their blocks in n1's store.
  const Json job = wait_job(http, post(http, "map_questions"));
  ASSERT_EQ(job.value("state", ""), "succeeded") << job.dump();
  EXPECT_EQ(job["outputs"], expected);
  const std::string read =
      wait_for(dir_ + "/n2.log", "turns read (\\d+) blocks from the dead node's KV store", 5s);
  ASSERT_FALSE(read.empty()) << read_text(dir_ + "/n2.log");
  EXPECT_GT(std::stoi(read), 0);
}

}  // namespace
}  // namespace agentrt::cluster
