// Routing on loopback with the nodes' real KV events: a coordinator (in this process, policy
// prefix_aware) and three `agentrt node` worker processes with tiny-calc on the CPU. Three
// jobs with different long system prompts land on three nodes; then, one at a time and in
// another order, a job sharing each one's prompt prefix (another question) must land on the
// node that ran that prefix, while the nodes are otherwise idle. Without the nodes' KV events
// the router sees no prefix and ranks by load alone, which cannot give this placement: ties
// go to one node, and round robin's rotation is not the order of the second round.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "actors/runtime_pool.h"
#include "cluster/coordinator.h"
#include "cluster/job_prefix.h"

namespace agentrt::cluster {
namespace {

using namespace std::chrono_literals;
const std::string kSource = AGENTRT_SOURCE_DIR;
const std::string kModel = kSource + "/models/tiny-calc";
const std::string kSecret = "routing-test-secret-0123456789";

// A worker process; killed (SIGKILL) on destruction.
class NodeProcess {
 public:
  NodeProcess(std::uint16_t port, const std::string& secret_file, const std::string& name)
      : log_(::testing::TempDir() + "route_" + name + "_" + std::to_string(getpid()) + ".log") {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string join = "127.0.0.1:" + std::to_string(port);
      if (std::freopen(log_.c_str(), "w", stdout) == nullptr || dup2(fileno(stdout), 2) < 0)
        _exit(126);
      execl(AGENTRT_BIN, AGENTRT_BIN, "node", "--join", join.c_str(), "--secret-file",
            secret_file.c_str(), "--name", name.c_str(), "--model", kModel.c_str(), "--threads",
            "1", "--kv-blocks", "512", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~NodeProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::remove(log_.c_str());
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<ClusterJobResult> result;
  std::function<void(ClusterJobResult)> callback() {
    return [this](ClusterJobResult r) {
      std::lock_guard lock(mu);
      result = std::move(r);
      cv.notify_all();
    };
  }
  std::optional<ClusterJobResult> wait(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, limit, [&] { return result.has_value(); });
    return result;
  }
};

// One agent step whose system prompt (several hundred tokens) is family `f`'s alone from its
// first words on; the question is the job's input.
std::string workflow(int f) {
  const char* topics[] = {"warehouse ledgers", "orchard harvests", "river ferry tickets"};
  std::string system = "Family " + std::to_string(f) + " handbook for " + topics[f] + ".";
  for (int k = 0; k < 12; ++k)
    system += " Rule " + std::to_string(k) + " of " + topics[f] +
              ": read every number twice, add the amounts in order and keep the running total "
              "on its own line.";
  return "name: family-" + std::to_string(f) +
         "\n"
         "models:\n  default: {}\n"
         "agents:\n  clerk:\n    system: \"" +
         system +
         "\"\n"
         "    sampling: { temperature: 0, max_tokens: 4 }\n"
         "    max_turns: 1\n"
         "inputs:\n  question: { type: string }\n"
         "steps:\n  - id: answer\n    agent: clerk\n    input: \"{{ inputs.question }}\"\n"
         "outputs:\n  answer: \"{{ steps.answer.output }}\"\n";
}

TEST(ClusterRouting, PrefixAwareSendsAJobToTheNodeThatCachedItsPrompt) {
  const std::string secret_file = ::testing::TempDir() + "route_secret_" + std::to_string(getpid());
  std::ofstream(secret_file) << kSecret << "\n";
  CoordinatorOptions o;
  o.secret = kSecret;
  o.policy = "prefix_aware";
  o.heartbeat = 100ms;
  o.heartbeat_timeout = 3000ms;
  auto started = Coordinator::start(o);
  ASSERT_TRUE(started.ok()) << started.error().message;
  std::unique_ptr<Coordinator> coordinator = std::move(*started);
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  for (int i = 0; i < 3; ++i)
    nodes.push_back(
        std::make_unique<NodeProcess>(coordinator->port(), secret_file, "r" + std::to_string(i)));
  // The coordinator's side of the key scheme: a Runtime of the nodes' model.
  actors::RuntimePool pool{actors::RuntimeOptions{}};
  actors::ModelKey key;
  key.dir = kModel;
  key.threads = 1;
  key.kv_blocks = 64;
  auto rt = pool.get(key);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (coordinator->nodes().size() < 3 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  ASSERT_EQ(coordinator->nodes().size(), 3u);

  int serial = 0;
  auto job = [&](int f, const std::string& question) {
    ClusterJob j;
    j.id = "f" + std::to_string(f) + "-" + std::to_string(serial++);
    j.workflow_yaml = workflow(f);
    j.workflow_file = j.id + ".yaml";
    j.inputs = {{"question", question}};
    auto prefix = job_prefix(**rt, j.workflow_yaml, j.workflow_file, j.inputs);
    EXPECT_TRUE(prefix.ok()) << prefix.error().message;
    if (prefix.ok()) {
      EXPECT_GE(prefix->blocks.size(), 12u) << "the system prompt spans many blocks";
      j.blocks = std::move(prefix->blocks);
      j.prompt_tokens = prefix->prompt_tokens;
    }
    return j;
  };
  auto node_of = [](const std::optional<ClusterJobResult>& r) -> std::string {
    if (!r || !r->status.ok() || r->nodes.size() != 1) return "(failed or moved)";
    return r->nodes.front();
  };

  // Round 1: the three families at once; the routed-load count spreads them.
  std::vector<std::unique_ptr<Waiter>> first;
  for (int f = 0; f < 3; ++f) {
    first.push_back(std::make_unique<Waiter>());
    coordinator->submit(job(f, "What is 12 plus 30?"), first.back()->callback());
  }
  std::vector<std::string> home;
  for (auto& w : first) {
    auto r = w->wait(60s);
    ASSERT_TRUE(r && r->status.ok()) << (r ? r->status.error().message : "timed out");
    home.push_back(node_of(r));
  }
  ASSERT_EQ(std::set<std::string>(home.begin(), home.end()).size(), 3u)
      << home[0] << " " << home[1] << " " << home[2];

  // Round 2, one at a time on idle nodes, in an order no load-only rotation repeats.
  for (int f : {2, 0, 1}) {
    std::this_thread::sleep_for(300ms);  // load reports of idle nodes replace routed counts
    Waiter w;
    coordinator->submit(job(f, "What is 7 times 6?"), w.callback());
    auto r = w.wait(60s);
    ASSERT_TRUE(r && r->status.ok()) << (r ? r->status.error().message : "timed out");
    EXPECT_EQ(node_of(r), home[static_cast<std::size_t>(f)])
        << "family " << f << "'s second job left the node holding its prompt";
  }
  coordinator.reset();
  nodes.clear();
  std::remove(secret_file.c_str());
}

}  // namespace
}  // namespace agentrt::cluster
