// The server's own engine as a routing candidate (`agentrt serve --cluster-local-engine`,
// docs/cluster.md): with one worker joined, round_robin sends completions and REST jobs to
// both the server's engine ("local") and the worker, with the same greedy outputs; under
// prefix_aware a prompt the server's engine cached goes back to it, another to the worker.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "cluster/cluster_test_process.h"

namespace agentrt::cluster {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
const std::string kSource = AGENTRT_SOURCE_DIR;
const std::string kModel = kSource + "/models/tiny-calc";

using test_process::Child;
using test_process::read_text;
using test_process::wait_for;

// A coordinator with --cluster-local-engine, then worker n1 (node 1).
struct LocalCluster {
  std::string dir;
  std::string serve_log;
  std::unique_ptr<Child> serve;
  std::unique_ptr<Child> node;
  int http_port = 0;

  LocalCluster(const std::string& name, const std::string& policy) {
    dir = ::testing::TempDir() + name + "_" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    const std::string secret = dir + "/secret";
    std::ofstream(secret) << "local-engine-test-secret-0123456789\n";
    serve_log = dir + "/serve.log";
    serve = std::make_unique<Child>(
        std::vector<std::string>{AGENTRT_BIN, "serve", "--port", "0", "--data", dir + "/data",
                                 "--model", kModel, "--threads", "1", "--kv-blocks", "512",
                                 "--cluster-port", "0", "--cluster-secret-file", secret,
                                 "--cluster-policy", policy, "--cluster-local-engine"},
        serve_log);
    const std::string port = wait_for(serve_log, R"(serving on http://127\.0\.0\.1:(\d+))", 30s);
    const std::string cluster = wait_for(serve_log, R"(workers join at 127\.0\.0\.1:(\d+))", 5s);
    if (port.empty() || cluster.empty()) return;
    http_port = std::stoi(port);
    node = std::make_unique<Child>(
        std::vector<std::string>{AGENTRT_BIN, "node", "--join", "127.0.0.1:" + cluster,
                                 "--secret-file", secret, "--name", "n1", "--model", kModel,
                                 "--threads", "1", "--kv-blocks", "512"},
        dir + "/n1.log");
  }
  ~LocalCluster() {
    node.reset();
    serve.reset();
    std::filesystem::remove_all(dir);
  }
  bool joined() const { return !wait_for(serve_log, "node 1 'n1' joined", 30s).empty(); }
};

struct Reply {
  int status = 0;
  std::string node;  // X-Agentrt-Node
  json body;
};

Reply chat(int port, const std::string& question, int max_tokens) {
  const json req = {{"model", "tiny-calc"},
                    {"messages", {{{"role", "user"}, {"content", question}}}},
                    {"temperature", 0},
                    {"max_tokens", max_tokens}};
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  auto r = c.Post("/v1/chat/completions", req.dump(), "application/json");
  Reply out;
  if (!r) return out;
  out.status = r->status;
  out.node = r->get_header_value("X-Agentrt-Node");
  out.body = json::parse(r->body, nullptr, false);
  return out;
}

std::string text_of(const Reply& r) {
  if (!r.body.is_object() || !r.body.contains("choices")) return "<" + r.body.dump() + ">";
  return r.body["choices"][0]["message"].value("content", "");
}

// Posts a job of `yaml` and returns its final record.
json run_job(int port, const std::string& yaml) {
  httplib::Client http("127.0.0.1", port);
  auto posted = http.Post("/v1/jobs", json{{"yaml", yaml}}.dump(), "application/json");
  if (!posted || posted->status >= 300) return json{{"post", posted ? posted->body : "none"}};
  const std::string id = json::parse(posted->body).at("id");
  json job;
  const auto until = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < until) {
    auto got = http.Get("/v1/jobs/" + id);
    if (!got) break;
    job = json::parse(got->body);
    if (job.value("state", "") != "queued" && job.value("state", "") != "running") break;
    std::this_thread::sleep_for(100ms);
  }
  return job;
}

TEST(ClusterLocalEngine, RoundRobinRunsCompletionsAndJobsOnTheServerAndTheWorkerAlike) {
  LocalCluster cl("cluster_local_rr", "round_robin");
  ASSERT_NE(cl.http_port, 0) << read_text(cl.serve_log);
  // Before any worker: the server's engine is the only node.
  const Reply first = chat(cl.http_port, "What is 17 + 25?", 32);
  ASSERT_EQ(first.status, 200) << first.body.dump();
  EXPECT_EQ(first.node, "local");
  ASSERT_TRUE(cl.joined()) << read_text(cl.dir + "/n1.log");
  std::set<std::string> nodes;
  for (int i = 0; i < 4; ++i) {
    const Reply r = chat(cl.http_port, "What is 17 + 25?", 32);
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(text_of(r), text_of(first)) << "on " << r.node;
    nodes.insert(r.node);
  }
  EXPECT_EQ(nodes, (std::set<std::string>{"local", "n1"}));

  const std::string yaml = read_text(kSource + "/workflows/examples/single_agent.yaml");
  const json a = run_job(cl.http_port, yaml);
  const json b = run_job(cl.http_port, yaml);
  ASSERT_EQ(a.value("state", ""), "succeeded") << a.dump();
  ASSERT_EQ(b.value("state", ""), "succeeded") << b.dump();
  EXPECT_EQ(a["outputs"], b["outputs"]);
  EXPECT_FALSE(wait_for(cl.serve_log, "the job ran on local\n", 1s).empty())
      << read_text(cl.serve_log);
  EXPECT_FALSE(wait_for(cl.serve_log, "the job ran on n1\n", 1s).empty());
}

TEST(ClusterLocalEngine, PrefixAwareSendsAPromptTheServerCachedToTheServer) {
  LocalCluster cl("cluster_local_prefix", "prefix_aware");
  ASSERT_NE(cl.http_port, 0) << read_text(cl.serve_log);
  // Long enough for several 16-token blocks; cached on the server before the worker joins.
  const std::string cached =
      "A farmer has 12 rows of 9 apple trees and sells the apples of every third tree. "
      "Each tree gives 31 apples. How many apples does the farmer sell?";
  const Reply warm = chat(cl.http_port, cached, 8);
  ASSERT_EQ(warm.status, 200) << warm.body.dump();
  EXPECT_EQ(warm.node, "local");
  ASSERT_TRUE(cl.joined()) << read_text(cl.dir + "/n1.log");
  // Equally good nodes: the worker (ties go to the lowest id); the cached prompt: the server.
  const Reply other = chat(cl.http_port, "A shop sells 14 boxes of 6 pens and 3 more pens.", 8);
  EXPECT_EQ(other.node, "n1") << other.body.dump();
  // The router counts a routed request on its node until the node's next load report
  // (heartbeats every 250 ms): past it both nodes are idle, and only the cache decides.
  std::this_thread::sleep_for(600ms);
  const Reply again = chat(cl.http_port, cached, 8);
  EXPECT_EQ(again.node, "local") << read_text(cl.serve_log);
  EXPECT_EQ(text_of(again), text_of(warm));
}

}  // namespace
}  // namespace agentrt::cluster
