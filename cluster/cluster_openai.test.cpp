// OpenAI completions through a cluster (docs/cluster.md, "OpenAI requests"): `agentrt serve
// --cluster-port 0` with `agentrt node` workers. A completion runs on a node (the reply's
// X-Agentrt-Node header names it) with the greedy output of the server's own engine;
// program_affinity keeps a conversation on its node; a request whose node stops before any
// reply bytes moves to another node; a paused agent session's KV moves with it when its node
// drains (SIGTERM).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "cluster/cluster_test_process.h"
#include "cluster/cluster_test_store.h"

namespace agentrt::cluster {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
const std::string kSource = AGENTRT_SOURCE_DIR;
const std::string kModel = kSource + "/models/tiny-calc";

using test_process::Child;
using test_process::read_text;
using test_process::wait_for;

// A coordinator with a data directory and a secret; nodes join it with node().
struct Cluster {
  std::string dir;
  std::string secret;
  std::string serve_log;
  std::unique_ptr<Child> serve;
  std::vector<std::unique_ptr<Child>> nodes;
  int http_port = 0;
  std::string cluster_port;

  Cluster(const std::string& name, const std::string& policy) {
    dir = ::testing::TempDir() + name + "_" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    secret = dir + "/secret";
    std::ofstream(secret) << "openai-test-secret-0123456789\n";
    serve_log = dir + "/serve.log";
    serve = std::make_unique<Child>(
        std::vector<std::string>{AGENTRT_BIN, "serve", "--port", "0", "--data", dir + "/data",
                                 "--model", kModel, "--threads", "1", "--kv-blocks", "512",
                                 "--cluster-port", "0", "--cluster-secret-file", secret,
                                 "--cluster-policy", policy},
        serve_log);
    const std::string port = wait_for(serve_log, R"(serving on http://127\.0\.0\.1:(\d+))", 30s);
    cluster_port = wait_for(serve_log, R"(workers join at 127\.0\.0\.1:(\d+))", 5s);
    if (!port.empty()) http_port = std::stoi(port);
  }
  ~Cluster() {
    nodes.clear();
    serve.reset();
    std::filesystem::remove_all(dir);
  }
  bool ok() const { return http_port != 0 && !cluster_port.empty(); }
  // Starts node `name` and waits for the coordinator to log its join as member `id`.
  // `extra`: more flags for the node.
  Child* node(const std::string& name, int id, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{AGENTRT_BIN,     "node", "--join",    "127.0.0.1:" + cluster_port,
                                  "--secret-file", secret, "--name",    name,
                                  "--model",       kModel, "--threads", "1",
                                  "--kv-blocks",   "512"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    nodes.push_back(std::make_unique<Child>(argv, dir + "/" + name + ".log"));  // truncated
    const std::string joined = "node " + std::to_string(id) + " '" + name + "' joined";
    return wait_for(serve_log, joined, 30s).empty() ? nullptr : nodes.back().get();
  }
};

struct Reply {
  int status = 0;
  std::string node;  // X-Agentrt-Node
  json body;         // the whole reply, or the SSE frames' array
};

Reply post(int port, const std::string& path, const json& req,
           const httplib::Headers& headers = {}) {
  httplib::Client c("127.0.0.1", port);
  c.set_default_headers(headers);
  c.set_read_timeout(120, 0);
  auto r = c.Post(path, req.dump(), "application/json");
  Reply out;
  if (!r) return out;
  out.status = r->status;
  out.node = r->get_header_value("X-Agentrt-Node");
  if (!req.value("stream", false)) {
    out.body = json::parse(r->body, nullptr, false);
    return out;
  }
  out.body = json::array();
  std::size_t pos = 0;
  while ((pos = r->body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = r->body.find("\n\n", pos);
    const std::string data = r->body.substr(pos + 6, end - pos - 6);
    pos = end;
    out.body.push_back(data == "[DONE]" ? json("[DONE]") : json::parse(data, nullptr, false));
  }
  return out;
}

// What greedy decoding decides in a reply, without ids, times and cache figures.
json outcome(const Reply& r) {
  json out = {{"status", r.status}};
  if (r.body.is_object() && r.body.contains("error")) {
    out["error"] = r.body["error"];
    return out;
  }
  if (r.body.is_object()) {
    for (const auto& ch : r.body["choices"]) {
      json c = {{"finish_reason", ch["finish_reason"]}};
      if (ch.contains("text")) c["text"] = ch["text"];
      if (ch.contains("message")) {
        c["content"] = ch["message"].value("content", json());
        for (const auto& call : ch["message"].value("tool_calls", json::array()))
          c["calls"].push_back(call["function"]);
      }
      out["choices"].push_back(c);
    }
    out["prompt_tokens"] = r.body["usage"]["prompt_tokens"];
    out["completion_tokens"] = r.body["usage"]["completion_tokens"];
    return out;
  }
  std::string text, args, finish;  // a stream: its deltas joined
  for (const auto& f : r.body) {
    if (!f.is_object() || !f.contains("choices") || f["choices"].empty()) continue;
    const json& ch = f["choices"][0];
    if (ch.contains("text")) text += ch["text"].get<std::string>();
    if (ch.contains("delta")) {
      const json& d = ch["delta"];
      if (d.contains("content") && d["content"].is_string())
        text += d["content"].get<std::string>();
      for (const auto& call : d.value("tool_calls", json::array()))
        if (call.contains("function"))
          args += call["function"].value("name", "") + call["function"].value("arguments", "");
    }
    if (ch.contains("finish_reason") && ch["finish_reason"].is_string())
      finish = ch["finish_reason"];
  }
  out["text"] = text;
  out["calls"] = args;
  out["finish_reason"] = finish;
  out["done"] = !r.body.empty() && r.body.back() == "[DONE]";
  return out;
}

// The next turn of `req` after `reply`, which called a tool: the assistant's message and the
// tool's answer, 23, appended.
json second_of(json req, const json& reply) {
  const json msg = reply["choices"][0]["message"];
  req["messages"].push_back(msg);
  req["messages"].push_back(
      {{"role", "tool"}, {"tool_call_id", msg["tool_calls"][0]["id"]}, {"content", "23"}});
  return req;
}

json beads_request() {
  std::ifstream f(kSource + "/models/tiny-calc/examples/beads.json");
  json r = json::parse(f);
  r["model"] = "tiny-calc";
  r["temperature"] = 0;
  r["max_tokens"] = 120;
  return r;
}

TEST(ClusterOpenAi, CompletionsRunOnTheNodeWithTheOutputsOfTheServersEngine) {
  Cluster cl("cluster_openai", "prefix_aware");
  ASSERT_TRUE(cl.ok()) << read_text(cl.serve_log);
  const json schema = json::parse(R"({"type": "object",
      "properties": {"answer": {"type": "integer"}, "unit": {"enum": ["stamps", "beads"]}},
      "required": ["answer", "unit"], "additionalProperties": false})");
  json stream = beads_request();
  stream["stream"] = true;
  json plain_stream = {{"model", "tiny-calc"},
                       {"messages", {{{"role", "user"}, {"content", "What is 17 + 25?"}}}},
                       {"temperature", 0},
                       {"max_tokens", 40},
                       {"stream", true}};
  const std::vector<std::pair<std::string, json>> requests = {
      {"/v1/chat/completions", beads_request()},
      {"/v1/chat/completions", stream},
      {"/v1/chat/completions", plain_stream},
      {"/v1/completions",
       {{"model", "tiny-calc"}, {"prompt", "12 + 30 ="}, {"temperature", 0}, {"max_tokens", 24}}},
      {"/v1/chat/completions",
       {{"model", "tiny-calc"},
        {"messages", {{{"role", "user"}, {"content", "How many stamps? Answer in JSON."}}}},
        {"temperature", 0},
        {"max_tokens", 200},
        {"response_format",
         {{"type", "json_schema"}, {"json_schema", {{"name", "r"}, {"schema", schema}}}}}}},
      {"/v1/chat/completions",  // a 400 before routing: the server's own validation
       {{"model", "tiny-calc"}, {"messages", json::array()}, {"max_tokens", 8}}},
  };
  std::vector<json> local;
  for (const auto& [path, req] : requests) {
    const Reply r = post(cl.http_port, path, req);
    EXPECT_EQ(r.node, "") << "no node has joined yet";
    local.push_back(outcome(r));
  }
  ASSERT_NE(cl.node("n1", 1), nullptr) << read_text(cl.dir + "/n1.log");
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const Reply r = post(cl.http_port, requests[i].first, requests[i].second);
    const json got = outcome(r);
    EXPECT_EQ(got, local[i]) << "request " << i << ": " << requests[i].second.dump();
    if (local[i]["status"] == 200) {
      EXPECT_EQ(r.node, "n1") << i;
    } else {
      EXPECT_EQ(local[i]["status"], 400);
    }
  }
  EXPECT_EQ(local[0]["choices"][0]["finish_reason"], "tool_calls") << local[0].dump();
  EXPECT_EQ(local[1]["done"], true);
  EXPECT_FALSE(local[2]["text"].get<std::string>().empty()) << local[2].dump();
  EXPECT_FALSE(
      wait_for(cl.serve_log, "completion \\d+ \\(attempt 0\\) -> node 1 'n1'", 1s).empty());
}

TEST(ClusterOpenAi, AConversationStaysOnItsNodeAndMovesWhenTheNodeStopsBeforeItsReply) {
  Cluster cl("cluster_openai_aff", "program_affinity");
  ASSERT_TRUE(cl.ok()) << read_text(cl.serve_log);
  Child* n1 = cl.node("n1", 1);
  ASSERT_NE(n1, nullptr) << read_text(cl.dir + "/n1.log");
  ASSERT_NE(cl.node("n2", 2), nullptr) << read_text(cl.dir + "/n2.log");
  auto turn = [](int conversation, int turns) {
    json messages = {
        {{"role", "user"}, {"content", "What is " + std::to_string(conversation) + " + 25?"}}};
    for (int t = 1; t < turns; ++t) {
      messages.push_back({{"role", "assistant"}, {"content", "Let me see."}});
      messages.push_back({{"role", "user"}, {"content", "And times " + std::to_string(t) + "?"}});
    }
    return json{
        {"model", "tiny-calc"}, {"messages", messages}, {"temperature", 0}, {"max_tokens", 16}};
  };
  // First turns at once, so the load spreads them; then each next turn goes home.
  std::vector<std::future<Reply>> first;
  for (int c = 0; c < 4; ++c)
    first.push_back(std::async(std::launch::async, [&, c] {
      return post(cl.http_port, "/v1/chat/completions", turn(c, 1));
    }));
  std::vector<std::string> home;
  for (auto& f : first) {
    const Reply r = f.get();
    ASSERT_EQ(r.status, 200) << r.body.dump();
    home.push_back(r.node);
  }
  EXPECT_NE(std::count(home.begin(), home.end(), "n1"), 4) << "the first turns spread";
  for (int c = 0; c < 4; ++c) {
    const Reply r = post(cl.http_port, "/v1/chat/completions", turn(c, 2));
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(r.node, home[c]) << "conversation " << c;
  }
  // A conversation at home on n1 while n1 is stopped: no reply bytes come, the coordinator
  // declares n1 dead (missed heartbeats) and runs the request on n2, with n2's output.
  const int c1 = static_cast<int>(std::find(home.begin(), home.end(), "n1") - home.begin());
  ASSERT_LT(c1, 4);
  ::kill(n1->pid, SIGSTOP);
  const Reply moved = post(cl.http_port, "/v1/chat/completions", turn(c1, 3));
  ASSERT_EQ(moved.status, 200) << moved.body.dump();
  EXPECT_EQ(moved.node, "n2");
  EXPECT_FALSE(wait_for(cl.serve_log, "completion \\d+ moves off node 1 'n1'", 1s).empty())
      << read_text(cl.serve_log);
  const Reply again = post(cl.http_port, "/v1/chat/completions", turn(c1, 3));
  EXPECT_EQ(again.node, "n2");
  EXPECT_EQ(outcome(again), outcome(moved));
}

// Turn 1 of an agent session pauses on n1 (a tool call: its KV is pinned there). n1 drains
// on SIGTERM: the coordinator routes nothing new to it, the session's KV goes to n2, n1
// exits. Turn 2 runs on n2 with the greedy output of the server's own engine, prefilling
// only what the shipped blocks do not cover (a recompute would prefill the whole prompt).
TEST(ClusterOpenAi, APausedSessionContinuesOnAnotherNodeWithItsKvAfterItsNodeDrains) {
  Cluster cl("cluster_openai_drain", "program_affinity");
  ASSERT_TRUE(cl.ok()) << read_text(cl.serve_log);
  const httplib::Headers session = {{"X-Agentrt-Session", "agent-7"}};
  json first = beads_request();
  const Reply local1 = post(cl.http_port, "/v1/chat/completions", first, session);
  ASSERT_EQ(local1.status, 200) << local1.body.dump();
  ASSERT_EQ(local1.body["choices"][0]["finish_reason"], "tool_calls") << local1.body.dump();
  const Reply local2 =
      post(cl.http_port, "/v1/chat/completions", second_of(first, local1.body), session);
  ASSERT_EQ(local2.status, 200) << local2.body.dump();

  // n1 pins with its own flags (a fixed 30 s, past the drain below).
  Child* n1 = cl.node("n1", 1, {"--session-pins", "fixed", "--session-ttl", "30"});
  ASSERT_NE(n1, nullptr) << read_text(cl.dir + "/n1.log");
  EXPECT_FALSE(wait_for(cl.dir + "/n1.log", "session pins fixed \\(TTL 30000 ms\\)", 1s).empty())
      << read_text(cl.dir + "/n1.log");
  const httplib::Headers moved_session = {{"X-Agentrt-Session", "agent-8"}};
  const Reply turn1 = post(cl.http_port, "/v1/chat/completions", first, moved_session);
  ASSERT_EQ(turn1.node, "n1");
  ASSERT_EQ(outcome(turn1), outcome(local1));
  ASSERT_NE(cl.node("n2", 2), nullptr) << read_text(cl.dir + "/n2.log");

  ::kill(n1->pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(n1->pid, &status, 0), n1->pid);
  n1->pid = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_text(cl.dir + "/n1.log");
  EXPECT_FALSE(
      wait_for(cl.serve_log, "KV of a session moves from node 1 'n1' to node 2 'n2'", 1s).empty())
      << read_text(cl.serve_log);
  const std::string shipped =
      wait_for(cl.dir + "/n1.log", R"(drained; (\d+) KV blocks shipped)", 1s);
  ASSERT_FALSE(shipped.empty()) << read_text(cl.dir + "/n1.log");
  EXPECT_GT(std::stoi(shipped), 0);

  const Reply turn2 =
      post(cl.http_port, "/v1/chat/completions", second_of(first, turn1.body), moved_session);
  ASSERT_EQ(turn2.status, 200) << turn2.body.dump();
  EXPECT_EQ(turn2.node, "n2");
  EXPECT_EQ(outcome(turn2), outcome(local2));
  const int prompt = turn2.body["usage"]["prompt_tokens"];
  const int cached = turn2.body["usage"]["prompt_tokens_details"]["cached_tokens"];
  // n2 never saw this conversation: without the shipped blocks it would prefill all of it.
  EXPECT_GT(cached, prompt / 2) << turn2.body.dump();
}

// A node with --kv-store keeps its snapshot tier in RocksDB: killed with SIGKILL (no drain)
// and started again on the same directory, it rejoins with the paused session's blocks, and
// the session's next turn prefills only what follows them, with the same greedy output.
TEST(ClusterOpenAi, ANodeRestartedOnItsKvStoreServesTheSessionsNextTurnFromIt) {
  Cluster cl("cluster_openai_kvstore", "program_affinity");
  ASSERT_TRUE(cl.ok()) << read_text(cl.serve_log);
  const httplib::Headers session = {{"X-Agentrt-Session", "agent-9"}};
  json first = beads_request();
  const Reply local1 = post(cl.http_port, "/v1/chat/completions", first, session);
  ASSERT_EQ(local1.status, 200) << local1.body.dump();
  ASSERT_EQ(local1.body["choices"][0]["finish_reason"], "tool_calls") << local1.body.dump();
  const Reply local2 =
      post(cl.http_port, "/v1/chat/completions", second_of(first, local1.body), session);
  ASSERT_EQ(local2.status, 200) << local2.body.dump();

  const std::vector<std::string> store = {"--kv-store", cl.dir + "/n1-kv"};
  Child* n1 = cl.node("n1", 1, store);
  ASSERT_NE(n1, nullptr) << read_text(cl.dir + "/n1.log");
  const httplib::Headers on_node = {{"X-Agentrt-Session", "agent-10"}};
  const Reply turn1 = post(cl.http_port, "/v1/chat/completions", first, on_node);
  ASSERT_EQ(turn1.node, "n1");
  ASSERT_EQ(outcome(turn1), outcome(local1));
  // The pause writes the turn's full blocks behind, in one batch.
  ASSERT_TRUE(test_store::wait_for_blocks(cl.dir + "/n1-kv", 1, 10s))
      << read_text(cl.dir + "/n1.log");
  ::kill(n1->pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(n1->pid, &status, 0), n1->pid);
  n1->pid = -1;
  ASSERT_FALSE(wait_for(cl.serve_log, "node 1 'n1' is dead", 10s).empty())
      << read_text(cl.serve_log);

  ASSERT_NE(cl.node("n1", 2, store), nullptr) << read_text(cl.dir + "/n1.log");
  EXPECT_FALSE(wait_for(cl.dir + "/n1.log", "KV snapshot tier: RocksDB at", 1s).empty());
  const Reply turn2 =
      post(cl.http_port, "/v1/chat/completions", second_of(first, turn1.body), on_node);
  ASSERT_EQ(turn2.status, 200) << turn2.body.dump();
  EXPECT_EQ(turn2.node, "n1");
  EXPECT_EQ(outcome(turn2), outcome(local2));
  const int prompt = turn2.body["usage"]["prompt_tokens"];
  const int cached = turn2.body["usage"]["prompt_tokens_details"]["cached_tokens"];
  // The restarted process's device cache is empty: without the store it prefills it all.
  EXPECT_GT(cached, prompt / 2) << turn2.body.dump() << read_text(cl.dir + "/n1.log");
}

// A dead node's on-disk store is read by the node its session moves to: n1 (--kv-store) runs
// the first turn and is killed (SIGKILL, no drain, no restart); the next turn goes to n2,
// which copies the turn's prompt blocks out of n1's store (read-only) before it runs, and
// prefills only what follows them, with the same greedy output.
TEST(ClusterOpenAi, ADeadNodesSessionMovesWithItsKvReadFromTheDeadNodesStore) {
  Cluster cl("cluster_openai_adopt", "program_affinity");
  ASSERT_TRUE(cl.ok()) << read_text(cl.serve_log);
  const httplib::Headers session = {{"X-Agentrt-Session", "agent-11"}};
  json first = beads_request();
  const Reply local1 = post(cl.http_port, "/v1/chat/completions", first, session);
  ASSERT_EQ(local1.status, 200) << local1.body.dump();
  const Reply local2 =
      post(cl.http_port, "/v1/chat/completions", second_of(first, local1.body), session);
  ASSERT_EQ(local2.status, 200) << local2.body.dump();

  Child* n1 = cl.node("n1", 1, {"--kv-store", cl.dir + "/n1-kv"});
  ASSERT_NE(n1, nullptr) << read_text(cl.dir + "/n1.log");
  const httplib::Headers moved = {{"X-Agentrt-Session", "agent-12"}};
  const Reply turn1 = post(cl.http_port, "/v1/chat/completions", first, moved);
  ASSERT_EQ(turn1.node, "n1");
  ASSERT_EQ(outcome(turn1), outcome(local1));
  ASSERT_NE(cl.node("n2", 2), nullptr) << read_text(cl.dir + "/n2.log");
  // The pause's write-behind, in one batch.
  ASSERT_TRUE(test_store::wait_for_blocks(cl.dir + "/n1-kv", 1, 10s))
      << read_text(cl.dir + "/n1.log");
  ::kill(n1->pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(n1->pid, &status, 0), n1->pid);
  n1->pid = -1;
  ASSERT_FALSE(wait_for(cl.serve_log, "node 1 'n1' is dead", 10s).empty());

  const Reply turn2 =
      post(cl.http_port, "/v1/chat/completions", second_of(first, turn1.body), moved);
  ASSERT_EQ(turn2.status, 200) << turn2.body.dump();
  EXPECT_EQ(turn2.node, "n2");
  EXPECT_EQ(outcome(turn2), outcome(local2));
  EXPECT_FALSE(
      wait_for(cl.serve_log, R"(([1-9]\d*) KV blocks of the dead node's session adopted)", 1s)
          .empty())
      << read_text(cl.serve_log);
  const int prompt = turn2.body["usage"]["prompt_tokens"];
  const int cached = turn2.body["usage"]["prompt_tokens_details"]["cached_tokens"];
  // n2 never saw this conversation: without n1's store it would prefill all of it.
  EXPECT_GT(cached, prompt / 2) << turn2.body.dump() << read_text(cl.dir + "/n2.log");
}

// A node that stops after the reply began: the stream cannot move; once the coordinator
// declares the node dead (missed heartbeats) the stream ends with a node_lost error event
// and [DONE], and the connection closes.
TEST(ClusterOpenAi, AStreamWhoseNodeDiesMidReplyEndsWithAnErrorEvent) {
  Cluster cl("cluster_openai_lost", "least_loaded");
  ASSERT_TRUE(cl.ok()) << read_text(cl.serve_log);
  Child* n1 = cl.node("n1", 1);
  ASSERT_NE(n1, nullptr) << read_text(cl.dir + "/n1.log");
  const json req = {{"model", "tiny-calc"},
                    {"prompt", "Ian has 7 cups."},
                    {"max_tokens", 3000},
                    {"ignore_eos", true},
                    {"stream", true}};
  httplib::Client c("127.0.0.1", cl.http_port);
  c.set_read_timeout(60, 0);
  std::string body;
  bool stopped = false;
  httplib::Request hr;
  hr.method = "POST";
  hr.path = "/v1/completions";
  hr.body = req.dump();
  hr.set_header("Content-Type", "application/json");
  hr.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    body.append(data, n);
    if (!stopped && body.find("data: {") != std::string::npos) {
      ::kill(n1->pid, SIGSTOP);  // the reply has begun
      stopped = true;
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool ended = c.send(hr, res, err);
  ASSERT_TRUE(stopped) << body;
  ASSERT_TRUE(ended) << "the stream did not end: " << httplib::to_string(err);
  EXPECT_NE(body.find("\"code\":\"node_lost\""), std::string::npos) << body.substr(0, 2000);
  EXPECT_EQ(body.rfind("data: [DONE]"), body.size() - std::string("data: [DONE]\n\n").size());
  EXPECT_FALSE(wait_for(cl.serve_log, "node 1 'n1' is dead", 1s).empty());
}

// Streams `n` long text completions at once (each keeps its node busy until stop()).
struct Load {
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads;
  Load(int port, int n) {
    for (int i = 0; i < n; ++i)
      threads.emplace_back([this, port] {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(60, 0);
        httplib::Request hr;
        hr.method = "POST";
        hr.path = "/v1/completions";
        const json req = {{"model", "tiny-calc"},
                          {"prompt", "Ian has 7 cups."},
                          {"max_tokens", 3000},
                          {"ignore_eos", true},
                          {"stream", true}};
        hr.body = req.dump();
        hr.set_header("Content-Type", "application/json");
        hr.content_receiver = [this](const char*, std::size_t, std::uint64_t, std::uint64_t) {
          return !stop_.load();
        };
        httplib::Response res;
        httplib::Error err = httplib::Error::Success;
        c.send(hr, res, err);
      });
  }
  void stop() {
    stop_ = true;
    for (auto& t : threads)
      t.join();
    threads.clear();
  }
  ~Load() { stop(); }
};

// program_affinity with 3 nodes. Agent sessions pause on n1 (tool calls: their KV pinned
// there); then 16 long streams keep n1 busy (active 16 > 2 x mean 5.3 + 4) while n2 and n3
// are idle. A session's next turn moves off n1 for load and its KV follows: it runs on n2
// with the greedy output of the server's own engine, most of its prompt from the shipped
// blocks (n2 never saw it). With n1 stopped (SIGSTOP) the next moved turn waits for its
// shipment at most kMoveWait, then runs elsewhere and recomputes, with the same output.
TEST(ClusterOpenAi, ASessionMovedOffItsNodeForLoadTakesItsKvAlong) {
  Cluster cl("cluster_openai_move", "program_affinity");
  ASSERT_TRUE(cl.ok()) << read_text(cl.serve_log);
  json first = beads_request();
  json other = first;  // another conversation from its first block, for the stopped node
  other["messages"][0]["content"] = "Note: " + other["messages"][0]["content"].get<std::string>();
  const httplib::Headers a = {{"X-Agentrt-Session", "agent-a"}};
  const httplib::Headers b = {{"X-Agentrt-Session", "agent-b"}};
  std::vector<Reply> local;  // the server's own engine: turn 1 and 2 of each conversation
  for (const json& req : {first, other}) {
    const Reply t1 = post(cl.http_port, "/v1/chat/completions", req, {{"X-Agentrt-Session", "l"}});
    ASSERT_EQ(t1.status, 200) << t1.body.dump();
    ASSERT_EQ(t1.body["choices"][0]["finish_reason"], "tool_calls") << t1.body.dump();
    local.push_back(t1);
    local.push_back(post(cl.http_port, "/v1/chat/completions", second_of(req, t1.body),
                         {{"X-Agentrt-Session", "l"}}));
  }

  Child* n1 = cl.node("n1", 1);
  ASSERT_NE(n1, nullptr) << read_text(cl.dir + "/n1.log");
  const Reply a1 = post(cl.http_port, "/v1/chat/completions", first, a);
  const Reply b1 = post(cl.http_port, "/v1/chat/completions", other, b);
  ASSERT_EQ(a1.node, "n1");
  ASSERT_EQ(b1.node, "n1");
  ASSERT_EQ(outcome(a1), outcome(local[0]));
  ASSERT_EQ(outcome(b1), outcome(local[2]));
  Load load(cl.http_port, 16);  // all on n1, the only node
  const std::regex routed("-> node 1 'n1'");
  for (int i = 0; i < 200; ++i) {  // a1, b1 and the 16 streams
    const std::string log = read_text(cl.serve_log);
    if (std::distance(std::sregex_iterator(log.begin(), log.end(), routed),
                      std::sregex_iterator()) >= 18)
      break;
    std::this_thread::sleep_for(25ms);
  }
  ASSERT_NE(cl.node("n2", 2), nullptr) << read_text(cl.dir + "/n2.log");
  ASSERT_NE(cl.node("n3", 3), nullptr) << read_text(cl.dir + "/n3.log");
  std::this_thread::sleep_for(600ms);  // a load report of each node

  const Reply a2 = post(cl.http_port, "/v1/chat/completions", second_of(first, a1.body), a);
  ASSERT_EQ(a2.status, 200) << a2.body.dump();
  EXPECT_EQ(a2.node, "n2") << read_text(cl.serve_log);
  EXPECT_EQ(outcome(a2), outcome(local[1]));
  EXPECT_FALSE(wait_for(cl.serve_log, R"((\d+) KV blocks of the moved session landed)", 1s).empty())
      << read_text(cl.serve_log);
  const int prompt = a2.body["usage"]["prompt_tokens"];
  const int cached = a2.body["usage"]["prompt_tokens_details"]["cached_tokens"];
  EXPECT_GT(cached, prompt / 2) << a2.body.dump();

  // n1 hangs: nothing waits for its shipment past the bound. First a2's routed count on n2
  // expires (RouterOptions::routed_grace, two heartbeats), so n1 is again the only busy node.
  std::this_thread::sleep_for(600ms);
  ::kill(n1->pid, SIGSTOP);
  const auto start = std::chrono::steady_clock::now();
  const Reply b2 = post(cl.http_port, "/v1/chat/completions", second_of(other, b1.body), b);
  ASSERT_EQ(b2.status, 200) << b2.body.dump();
  EXPECT_NE(b2.node, "n1");
  EXPECT_EQ(outcome(b2), outcome(local[3]));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_FALSE(wait_for(cl.serve_log, "the moved session's KV did not land", 1s).empty())
      << read_text(cl.serve_log);
  load.stop();
}

}  // namespace
}  // namespace agentrt::cluster
