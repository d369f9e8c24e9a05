// A coordinator (in this process) and three `agentrt node` worker processes on loopback,
// with tiny-calc on the CPU: the workflow examples give the outputs of one process; a node
// killed with SIGKILL mid-job loses nothing (the job completes elsewhere, from its
// checkpoints, with the same outputs) and rejoins when restarted; a node with the wrong
// secret is refused.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <caf/io/middleman.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "actors/runtime_pool.h"
#include "actors/workflow/workflow_runner.h"
#include "cluster/cluster_test_process.h"
#include "cluster/cluster_test_reference.h"
#include "cluster/cluster_test_store.h"
#include "cluster/coordinator.h"
#include "cluster/secret.h"
#include "cluster/wire.h"
#include "workflows/inputs.h"
#include "workflows/loader.h"

namespace agentrt::cluster {
namespace {

using namespace std::chrono_literals;
using test_process::eventually;
using test_process::read_text;
const std::string kSource = AGENTRT_SOURCE_DIR;
const std::string kModel = kSource + "/models/tiny-calc";

std::string write_secret(const std::string& name, const std::string& secret) {
  const std::string path = ::testing::TempDir() + name + "_" + std::to_string(getpid());
  std::ofstream(path) << secret << "\n";
  return path;
}

// A worker process; killed (SIGKILL) on destruction if still running.
class NodeProcess {
 public:
  NodeProcess(std::uint16_t port, const std::string& secret_file, const std::string& name,
              const std::vector<std::string>& extra = {})
      : log_(::testing::TempDir() + "node_" + name + "_" + std::to_string(getpid()) + ".log") {
    std::vector<std::string> args = {
        AGENTRT_BIN,     "node",      "--join",    "127.0.0.1:" + std::to_string(port),
        "--secret-file", secret_file, "--name",    name,
        "--model",       kModel,      "--threads", "1",
        "--kv-blocks",   "512"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      // The node's log (spdlog writes to stdout) and errors, for a failing test's reader.
      if (std::freopen(log_.c_str(), "w", stdout) == nullptr || dup2(fileno(stdout), 2) < 0)
        _exit(126);
      execv(AGENTRT_BIN, argv.data());
      _exit(127);
    }
  }
  ~NodeProcess() {
    kill_now();
    std::remove(log_.c_str());
  }
  std::string log() const { return read_text(log_); }
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // The exit status once it has ended within `limit`, else nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

bool has_node(const Coordinator& c, const std::string& name) {
  for (const auto& n : c.nodes())
    if (n.name == name) return true;
  return false;
}

// Collects one job's result.
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

// The outputs of one in-process run of `yaml`: the reference.
nlohmann::json one_process_outputs(actors::RuntimePool& pool, const std::string& yaml,
                                   const std::string& file) {
  return test_reference::one_process_outputs(pool, kModel, yaml, file);
}

class ClusterLoopback : public ::testing::Test {
 protected:
  void SetUp() override {
    secret_file_ = write_secret("cluster_secret", "loopback-test-secret-0123456789");
    CoordinatorOptions o;
    o.secret = "loopback-test-secret-0123456789";
    o.policy = "least_loaded";
    o.heartbeat = 100ms;
    o.heartbeat_timeout = 1500ms;
    auto c = Coordinator::start(o);
    ASSERT_TRUE(c.ok()) << c.error().message;
    coordinator_ = std::move(*c);
  }
  void start_nodes(int n) {
    for (int i = 0; i < n; ++i)
      start_node("w" + std::to_string(i));
    ASSERT_TRUE(
        eventually([&] { return static_cast<int>(coordinator_->nodes().size()) == n; }, 30s))
        << coordinator_->nodes().size() << " nodes joined";
  }
  void start_node(const std::string& name, const std::vector<std::string>& extra = {}) {
    nodes_[name] = std::make_unique<NodeProcess>(coordinator_->port(), secret_file_, name, extra);
  }
  void TearDown() override {
    nodes_.clear();
    coordinator_.reset();
    std::remove(secret_file_.c_str());
  }

  std::string secret_file_;
  std::unique_ptr<Coordinator> coordinator_;
  std::map<std::string, std::unique_ptr<NodeProcess>> nodes_;
};

TEST_F(ClusterLoopback, WorkflowExamplesGiveTheOutputsOfOneProcess) {
  start_nodes(3);
  const std::vector<std::string> examples = {"single_agent", "map_questions", "when_branch",
                                             "schema_map"};
  std::vector<std::unique_ptr<Waiter>> waiters;
  for (const auto& e : examples) {
    const std::string file = kSource + "/workflows/examples/" + e + ".yaml";
    waiters.push_back(std::make_unique<Waiter>());
    coordinator_->submit({e, read_text(file), file, {}, {}, {}}, waiters.back()->callback());
  }
  std::set<std::string> used;
  actors::RuntimePool pool{actors::RuntimeOptions{}};
  for (std::size_t i = 0; i < examples.size(); ++i) {
    auto r = waiters[i]->wait(60s);
    ASSERT_TRUE(r.has_value()) << examples[i] << " did not finish";
    ASSERT_TRUE(r->status.ok()) << examples[i] << ": " << r->status.error().message;
    ASSERT_EQ(r->nodes.size(), 1u);
    used.insert(r->nodes[0]);
    const std::string file = kSource + "/workflows/examples/" + examples[i] + ".yaml";
    EXPECT_EQ(r->report["outputs"], one_process_outputs(pool, read_text(file), file))
        << examples[i];
  }
  EXPECT_GE(used.size(), 2u) << "the jobs were spread over the nodes";
}

// The map example one question at a time, with three more questions and `extra` generated
// ones: a job long enough to kill its node after the first item (tiny-calc answers an item
// in about 50 ms on CI's machine, so six items can end inside a 300 ms wait).
std::string long_map_workflow(int extra = 0) {
  std::string yaml = read_text(kSource + "/workflows/examples/map_questions.yaml");
  const std::string from = "concurrency: 3";
  yaml.replace(yaml.find(from), from.size(), "concurrency: 1");
  const std::string list = "    default:\n";
  const auto at = yaml.find(list) + list.size();
  std::string items =
      "      - Ben has 7 apples. He gets 5 more. How many apples does Ben have?\n"
      "      - Cara has 12 pens and gives away 4. How many pens does Cara have?\n"
      "      - Dan has 3 boxes of 4 eggs. How many eggs does Dan have?\n";
  for (int i = 0; i < extra; ++i)
    items += "      - Eve has " + std::to_string(10 + i) + " cards and gets " +
             std::to_string(2 + i % 7) + " more. How many cards does Eve have?\n";
  yaml.insert(at, items);
  return yaml;
}

TEST_F(ClusterLoopback, KilledNodeJobCompletesElsewhereAndTheNodeRejoins) {
  start_nodes(3);
  const std::string yaml = long_map_workflow(8);  // still running when the kill comes
  const std::string file = kSource + "/workflows/examples/long_map.yaml";
  std::mutex mu;
  std::map<std::string, int> reported;  // checkpoint key -> times reported
  Waiter waiter;
  ClusterJob job{"long", yaml, file, {}, {}, {}};
  job.on_checkpoint = [&](const std::string& key, const std::string&) {
    std::lock_guard lock(mu);
    ++reported[key];
  };
  coordinator_->submit(std::move(job), waiter.callback());
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(mu);
        return !reported.empty();
      },
      30s))
      << "no checkpoint arrived";
  std::string victim;
  for (const auto& n : coordinator_->nodes())
    if (n.running_jobs > 0) victim = n.name;
  ASSERT_FALSE(victim.empty());
  nodes_.at(victim)->kill_now();  // SIGKILL, mid-job

  auto r = waiter.wait(60s);
  ASSERT_TRUE(r.has_value()) << "the job did not finish";
  ASSERT_TRUE(r->status.ok()) << r->status.error().message;
  ASSERT_EQ(r->nodes.size(), 2u);
  EXPECT_EQ(r->nodes[0], victim);
  EXPECT_NE(r->nodes[1], victim);
  {
    std::lock_guard lock(mu);
    for (const auto& [key, times] : reported)
      EXPECT_EQ(times, 1) << key << " ran twice";
    EXPECT_EQ(reported.count("step:0"), 1u);
  }
  actors::RuntimePool pool{actors::RuntimeOptions{}};
  EXPECT_EQ(r->report["outputs"], one_process_outputs(pool, yaml, file));

  EXPECT_FALSE(has_node(*coordinator_, victim));
  start_node(victim);
  EXPECT_TRUE(eventually([&] { return has_node(*coordinator_, victim); }, 30s))
      << victim << " did not rejoin";
  EXPECT_EQ(coordinator_->nodes().size(), 3u);
}

// Workers keep their snapshot tiers on disk (--kv-store): the job of one killed mid-run moves
// to the other, which reads the KV its first attempt wrote behind from the dead node's store
// (JobSpec::kv_store) instead of recomputing it, with the outputs of one process.
TEST_F(ClusterLoopback, AJobMovedOffADeadNodeReadsTheKvItsNodeWroteBehind) {
  std::map<std::string, std::string> dirs;
  for (const std::string name : {"d0", "d1"}) {
    dirs[name] = ::testing::TempDir() + "kv_" + name + "_" + std::to_string(getpid());
    std::filesystem::remove_all(dirs[name]);
    start_node(name, {"--kv-store", dirs[name]});
  }
  ASSERT_TRUE(eventually([&] { return coordinator_->nodes().size() == 2; }, 30s));
  // Long enough that the job is still running on its node once the first item's turns are
  // written behind (the store is read before the kill; see test_store::wait_for_blocks).
  const std::string yaml = long_map_workflow(16);
  const std::string file = kSource + "/workflows/examples/long_map.yaml";
  std::atomic<int> checkpoints{0};
  Waiter waiter;
  ClusterJob job{"moved", yaml, file, {}, {}, {}};
  job.on_checkpoint = [&](const std::string&, const std::string&) { ++checkpoints; };
  coordinator_->submit(std::move(job), waiter.callback());
  ASSERT_TRUE(eventually([&] { return checkpoints.load() > 0; }, 30s)) << "no checkpoint arrived";
  std::string victim;
  for (const auto& n : coordinator_->nodes())
    if (n.running_jobs > 0) victim = n.name;
  ASSERT_FALSE(victim.empty());
  // The write-behind of the first item's paused turns: at least the system prompt's and
  // tools' blocks, which every later item reads.
  ASSERT_TRUE(test_store::wait_for_blocks(dirs.at(victim), 4, 10s))
      << "nothing was written behind into " << dirs.at(victim);
  nodes_.at(victim)->kill_now();

  auto r = waiter.wait(60s);
  ASSERT_TRUE(r.has_value()) << "the job did not finish";
  ASSERT_TRUE(r->status.ok()) << r->status.error().message;
  ASSERT_EQ(r->nodes.size(), 2u);
  const std::string survivor = r->nodes[1];
  ASSERT_NE(survivor, victim);
  actors::RuntimePool pool{actors::RuntimeOptions{}};
  EXPECT_EQ(r->report["outputs"], one_process_outputs(pool, yaml, file));
  // The survivor logs the blocks it read from the dead node's store when the job ends.
  const std::regex read_line("read ([0-9]+) KV blocks from " + dirs.at(victim));
  std::smatch m;
  std::string log;
  ASSERT_TRUE(eventually(
      [&] {
        log = nodes_.at(survivor)->log();
        return std::regex_search(log, m, read_line);
      },
      5s))
      << log;
  // At least the agent's system prompt and tools (shared by every item), and more when the
  // interrupted item had paused there.
  EXPECT_GE(std::stoi(m[1].str()), 4) << log;
  nodes_.clear();
  for (const auto& [name, dir] : dirs)
    std::filesystem::remove_all(dir);
}

// A free TCP port on loopback (bound, read, closed).
std::uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    ADD_FAILURE() << "no free port";
  close(fd);
  return ntohs(a.sin_port);
}

TEST(ClusterRejoin, NodeWaitsForTheCoordinatorAndJoinsItAgainAfterARestart) {
  const std::string secret = "rejoin-test-secret-0123456789";
  const std::string file = write_secret("rejoin_secret", secret);
  CoordinatorOptions o;
  o.secret = secret;
  o.port = free_port();
  o.heartbeat = 100ms;
  o.heartbeat_timeout = 1500ms;
  NodeProcess node(o.port, file, "early");  // before any coordinator listens
  std::this_thread::sleep_for(700ms);
  for (int round = 0; round < 2; ++round) {  // the coordinator starts, stops, starts again
    auto c = Coordinator::start(o);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_TRUE(eventually([&] { return has_node(**c, "early"); }, 30s))
        << "round " << round << ": " << node.log();
  }
  std::remove(file.c_str());
}

TEST_F(ClusterLoopback, NodeWithTheWrongSecretIsRefused) {
  // A node process with another secret: the coordinator's proof does not check, so it quits.
  const std::string wrong = write_secret("wrong_secret", "not-the-cluster-secret-987654321");
  NodeProcess intruder(coordinator_->port(), wrong, "intruder");
  auto code = intruder.wait_exit(30s);
  std::remove(wrong.c_str());
  ASSERT_TRUE(code.has_value()) << "the node was not refused";
  EXPECT_NE(*code, 0);
  EXPECT_NE(intruder.log().find("the coordinator did not prove the cluster secret"),
            std::string::npos)
      << intruder.log();

  // A client that answers the challenge without the secret: the coordinator refuses it, and
  // ignores its heartbeats.
  caf::actor_system_config cfg;
  configure_wire(cfg);
  caf::actor_system sys{cfg};
  auto coord = sys.middleman().remote_actor("127.0.0.1", coordinator_->port());
  ASSERT_TRUE(coord) << sys.render(coord.error());
  caf::scoped_actor self{sys};
  NodeHello hello;
  hello.name = "impostor";
  hello.nonce = std::string(64, 'a');
  std::optional<Challenge> challenge;
  self->request(*coord, 10s, hello_atom::value, hello)
      .receive([&](const Challenge& c) { challenge = c; }, [&](caf::error&) {});
  ASSERT_TRUE(challenge.has_value());
  bool refused = false;
  AuthProof proof{prove("a-guessed-secret-0123456", "worker|" + challenge->nonce + "|impostor")};
  self->request(*coord, 10s, auth_atom::value, proof)
      .receive([&](const Welcome&) {}, [&](caf::error&) { refused = true; });
  EXPECT_TRUE(refused);
  bool member = true;
  self->request(*coord, 10s, heartbeat_atom::value, LoadReport{})
      .receive([&](bool m) { member = m; }, [&](caf::error&) {});
  EXPECT_FALSE(member);
  EXPECT_EQ(coordinator_->refused(), 1);
  EXPECT_TRUE(coordinator_->nodes().empty());
}

}  // namespace
}  // namespace agentrt::cluster
