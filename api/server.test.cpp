// The REST server end to end, in process: real HTTP on loopback, tiny-calc on the CPU, a
// real RocksDB data directory.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "api/server_testing.h"

namespace agentrt::api {
namespace {

using nlohmann::json;
using testing::body_of;
using testing::fresh_dir;
using testing::RunningServer;
using testing::test_options;
using testing::wait_finished;

const char* kJson = "application/json";

TEST(Server, HealthReadinessAndJsonErrors) {
  RunningServer s(test_options(fresh_dir("health")));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto nf = c.Get("/v1/nothing");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(body_of(nf)["error"]["code"], "not_found");
  auto bad = c.Post("/v1/jobs", "{", kJson);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(body_of(bad)["error"]["code"], "invalid_body");
  auto missing = c.Get("/v1/jobs/j-missing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto big = c.Post("/v1/jobs", std::string(9u << 20, ' '), kJson);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(body_of(big)["error"]["code"], "too_large");
}

TEST(Server, RunsANamedWorkflowAndStreamsItsEvents) {
  RunningServer s(test_options(fresh_dir("named")));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  auto p = c.Post("/v1/jobs", R"({"workflow": "single_agent"})", kJson);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->status, 201) << p->body;
  const std::string id = body_of(p)["id"];
  EXPECT_EQ(p->get_header_value("Location"), "/v1/jobs/" + id);
  auto done = wait_finished(c, id);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["outputs"]["answer"], "4") << done.dump();
  ASSERT_EQ(done["steps"].size(), 1u);
  EXPECT_EQ(done["steps"][0]["state"], "done");
  EXPECT_GT(done["steps"][0]["tokens"].get<int>(), 0);
  EXPECT_GT(done["steps"][0]["tool_calls"].get<int>(), 0);
  // Each tool call is recorded on its step: the call, its result, how long it took.
  const auto& records = done["steps"][0]["tool_records"];
  ASSERT_EQ(records.size(), done["steps"][0]["tool_calls"].get<std::size_t>()) << done.dump();
  EXPECT_EQ(records[0]["name"], "calculator");
  EXPECT_TRUE(records[0]["arguments"].contains("expression")) << records.dump();
  EXPECT_EQ(records[0]["ok"], true);
  EXPECT_GE(records[0]["duration_ms"].get<double>(), 0.0);
  EXPECT_EQ(records[0]["unit"], 0);
  // The job list leaves the records out (it lists many jobs); the job's own view has them.
  const auto listed = body_of(c.Get("/v1/jobs"))["jobs"];
  ASSERT_FALSE(listed.empty());
  for (const auto& j : listed)
    for (const auto& st : j["steps"])
      EXPECT_FALSE(st.contains("tool_records")) << j.dump();
  // The turn after the tool call resumes on its pinned KV.
  const auto reused = done["steps"][0]["kv_reused_tokens"].get<std::int64_t>();
  EXPECT_GT(reused, 0);
  // The same job again: its prompts' full blocks are cached too.
  auto again =
      wait_finished(c, body_of(c.Post("/v1/jobs", R"({"workflow": "single_agent"})", kJson))["id"]);
  EXPECT_EQ(again["outputs"], done["outputs"]);
  EXPECT_GT(again["steps"][0]["kv_reused_tokens"].get<std::int64_t>(), reused);

  std::string stream;
  auto ev = c.Get("/v1/jobs/" + id + "/events", [&](const char* d, std::size_t n) {
    stream.append(d, n);
    return true;
  });
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->get_header_value("Content-Type"), "text/event-stream");
  for (const char* type : {"job_queued", "job_started", "step_started", "tool_call", "tool_result",
                           "step_finished", "job_finished"})
    EXPECT_NE(stream.find(std::string("event: ") + type), std::string::npos) << type << stream;
  EXPECT_LT(stream.find("event: step_started"), stream.find("event: step_finished"));
  EXPECT_NE(stream.find("\"duration_ms\""), std::string::npos) << stream;  // tool_result
  EXPECT_EQ(stream.rfind("event: "), stream.find("event: job_finished"));

  // Resuming after event 2 leaves out events 1 and 2.
  std::string rest;
  auto ev2 = c.Get("/v1/jobs/" + id + "/events", httplib::Headers{{"Last-Event-ID", "2"}},
                   [&](const char* d, std::size_t n) {
                     rest.append(d, n);
                     return true;
                   });
  ASSERT_TRUE(ev2);
  EXPECT_EQ(rest.find("id: 1\n"), std::string::npos);
  EXPECT_EQ(rest.find("id: 2\n"), std::string::npos);
  EXPECT_NE(rest.find("id: 3\n"), std::string::npos);
  EXPECT_NE(rest.find("event: job_finished"), std::string::npos);

  // Two succeeded jobs, a page at a time.
  auto page1 = body_of(c.Get("/v1/jobs?state=succeeded&limit=1"));
  ASSERT_EQ(page1["jobs"].size(), 1u);
  EXPECT_EQ(page1["jobs"][0]["id"], id);
  ASSERT_TRUE(page1["next_cursor"].is_string());
  auto page2 = body_of(
      c.Get("/v1/jobs?state=succeeded&limit=1&cursor=" + page1["next_cursor"].get<std::string>()));
  ASSERT_EQ(page2["jobs"].size(), 1u);
  EXPECT_EQ(page2["jobs"][0]["id"], again["id"]);
  EXPECT_TRUE(page2["next_cursor"].is_null());
  EXPECT_EQ(body_of(c.Get("/v1/jobs?state=failed"))["jobs"].size(), 0u);
  EXPECT_EQ(c.Get("/v1/jobs?state=bogus")->status, 400);
  EXPECT_EQ(c.Get("/v1/jobs?limit=0")->status, 400);
  auto del = c.Delete("/v1/jobs/" + id);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 409);
}

TEST(Server, RefusesBadWorkflowsWithTheirPlace) {
  RunningServer s(test_options(fresh_dir("bad")));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  json body = {{"yaml", "name: x\nsteps:\n  - id: a\n    agent: nobody\n    input: hi\n"}};
  auto r = c.Post("/v1/jobs", body.dump(), kJson);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422);
  auto e = body_of(r)["error"];
  EXPECT_EQ(e["code"], "invalid_workflow");
  EXPECT_EQ(e["pointer"].get<std::string>().rfind("inline.yaml:", 0), 0u) << e.dump();
  EXPECT_FALSE(e["diagnostics"].empty());

  auto v = c.Post("/v1/workflows/validate", body.dump(), kJson);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->status, 200);
  EXPECT_EQ(body_of(v)["valid"], false);

  auto nf = c.Post("/v1/jobs", R"({"workflow": "no_such_workflow"})", kJson);
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);

  auto in = c.Post("/v1/jobs", R"({"workflow": "single_agent", "inputs": {"nope": "1"}})", kJson);
  ASSERT_TRUE(in);
  EXPECT_EQ(in->status, 422);
}

// Tools that run programs or reach the network stay off on a server unless its options
// enable them: a client's workflow declaring one is refused at the tool's place.
TEST(Server, ToolsThatRunProgramsAreOffUnlessEnabled) {
  const std::string yaml =
      "tools:\n  sh: { builtin: command, argv: [echo, hi] }\n"
      "agents: { a: { tools: [sh] } }\nsteps: [{ id: s, agent: a, input: hi }]\n";
  const json body = {{"yaml", yaml}};
  {
    RunningServer s(test_options(fresh_dir("tools-off")));
    ASSERT_TRUE(s.ok()) << s.error();
    auto c = s.client();
    auto r = c.Post("/v1/jobs", body.dump(), kJson);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 422) << r->body;
    auto e = body_of(r)["error"];
    EXPECT_EQ(e["code"], "invalid_workflow");
    EXPECT_EQ(e["pointer"], "inline.yaml:2:3") << e.dump();
    EXPECT_NE(e["message"].get<std::string>().find("off on this server"), std::string::npos)
        << e.dump();
    auto v = c.Post("/v1/workflows/validate", body.dump(), kJson);
    ASSERT_TRUE(v);
    EXPECT_EQ(body_of(v)["valid"], false) << v->body;
  }
  auto o = test_options(fresh_dir("tools-on"));
  o.jobs.tools.command = true;
  RunningServer s(o);
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  auto v = c.Post("/v1/workflows/validate", body.dump(), kJson);
  ASSERT_TRUE(v);
  EXPECT_EQ(body_of(v)["valid"], true) << v->body;
}

TEST(Server, ModelsOnlyInsideTheModelDirectories) {
  RunningServer s(test_options(fresh_dir("models")));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  const std::string wf = R"(name: m
models:
  default: { path: PATH }
agents:
  a: { system: hi }
steps:
  - { id: s, agent: a, input: hi }
)";
  for (const std::string path : {"/etc", "../../models/tiny-calc", "/tmp"}) {
    std::string y = wf;
    y.replace(y.find("PATH"), 4, path);
    auto r = c.Post("/v1/jobs", json{{"yaml", y}}.dump(), kJson);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 422) << path << r->body;
    EXPECT_EQ(body_of(r)["error"]["code"], "model_not_allowed") << r->body;
  }
  // A symlink inside the workflow directory that leads out is refused too.
  auto link_dir = fresh_dir("models-link");
  std::filesystem::create_directory_symlink("/etc", link_dir / "out");
  std::string y = wf;
  y.replace(y.find("PATH"), 4, (link_dir / "out").string());
  auto r = c.Post("/v1/jobs", json{{"yaml", y}}.dump(), kJson);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422) << r->body;
}

TEST(Server, IdempotencyKeys) {
  RunningServer s(test_options(fresh_dir("idem")));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  httplib::Headers key{{"Idempotency-Key", "abc-123"}};
  auto a = c.Post("/v1/jobs", key, R"({"workflow": "single_agent"})", kJson);
  auto b = c.Post("/v1/jobs", key, R"({"workflow": "single_agent"})", kJson);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->status, 201);
  EXPECT_EQ(b->status, 200);
  EXPECT_EQ(body_of(a)["id"], body_of(b)["id"]);
  auto other = c.Post("/v1/jobs", key, R"({"workflow": "map_questions"})", kJson);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 409);
  EXPECT_EQ(body_of(c.Get("/v1/jobs"))["jobs"].size(), 1u);
}

TEST(Server, FullServerAnswers429WithRetryAfter) {
  auto o = test_options(fresh_dir("busy"));
  o.jobs.max_running_jobs = 1;
  o.jobs.max_queued_jobs = 1;
  RunningServer s(o);
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  int accepted = 0, refused = 0;
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    auto r = c.Post("/v1/jobs", R"({"workflow": "map_questions"})", kJson);
    ASSERT_TRUE(r);
    if (r->status == 201) {
      ++accepted;
      ids.push_back(body_of(r)["id"]);
    } else {
      EXPECT_EQ(r->status, 429);
      EXPECT_FALSE(r->get_header_value("Retry-After").empty());
      ++refused;
    }
  }
  EXPECT_GE(accepted, 2);
  EXPECT_GE(refused, 1);
  for (const auto& id : ids)
    EXPECT_EQ(wait_finished(c, id)["state"], "succeeded");
}

TEST(Server, CancelsQueuedAndRunningJobs) {
  auto o = test_options(fresh_dir("cancel"));
  o.jobs.max_running_jobs = 1;
  RunningServer s(o);
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  const std::string a =
      body_of(c.Post("/v1/jobs", R"({"workflow": "map_questions"})", kJson))["id"];
  const std::string b =
      body_of(c.Post("/v1/jobs", R"({"workflow": "map_questions"})", kJson))["id"];
  auto db = c.Delete("/v1/jobs/" + b);
  ASSERT_TRUE(db);
  EXPECT_EQ(db->status, 202);
  auto da = c.Delete("/v1/jobs/" + a);
  ASSERT_TRUE(da);
  EXPECT_EQ(da->status, 202);
  EXPECT_EQ(wait_finished(c, a)["state"], "cancelled");
  EXPECT_EQ(wait_finished(c, b)["state"], "cancelled");
  EXPECT_EQ(c.Delete("/v1/jobs/j-nope")->status, 404);
}

TEST(Server, ApiKeysGuardEverythingButHealth) {
  auto dir = fresh_dir("keys");
  auto o = test_options(dir / "data");
  o.api_key_file = dir / "keys";
  std::ofstream(o.api_key_file) << "test-key-0123456789abcdef\n";
  RunningServer s(o);
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  auto no = c.Get("/v1/jobs");
  ASSERT_TRUE(no);
  EXPECT_EQ(no->status, 401);
  EXPECT_EQ(body_of(no)["error"]["code"], "unauthorized");
  EXPECT_EQ(c.Get("/v1/jobs", {{"Authorization", "Bearer wrong-key-0123456789abc"}})->status, 401);
  EXPECT_EQ(c.Get("/v1/jobs", {{"Authorization", "Bearer test-key-0123456789abcdef"}})->status,
            200);

  auto open = test_options(dir / "data2");
  open.host = "0.0.0.0";
  auto refused = Server::create(open);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("--api-key-file"), std::string::npos);
}

// A stop in the middle of a job leaves it running in the store; the next server resumes it
// from its checkpoints (finished map items are not run again) and ends with the outputs of
// an uninterrupted run.
const char* kSlowMap = R"(name: slow-map
tools:
  calculator: { builtin: calculator }
agents:
  solver:
    system: >-
      You solve arithmetic word problems. Use the calculator tool for every operation,
      then give the final line as 'Answer: N'.
    tools: [calculator]
    sampling: { temperature: 0, max_tokens: 160 }
    max_turns: 10
inputs:
  questions:
    type: list
    default:
      - Adam has 1 fewer stickers than Gus. Gus has 9 cups. Gus has 5 stickers. How many stickers does Adam have?
      - Lily has 5 rocks. Will has 15 rocks. How many more rocks does Will have than Lily?
      - Hana has 20 pencils. Jack has half as many pencils as Hana. How many pencils does Jack have?
      - Sam has 7 apples and buys 8 more. How many apples does Sam have?
      - Mia has 30 cards and gives away 12. How many cards does Mia have?
      - Ben has 6 boxes of 4 pens. How many pens does Ben have?
steps:
  - id: solve_all
    agent: solver
    map: { over: "{{ inputs.questions }}", as: question, concurrency: 1 }
    input: "{{ question }}"
    extract: { answer: 'Answer: *(-?\d+)' }
  - id: check
    agent: solver
    input: "What is {{ steps.solve_all.answer | join(' + ') }}?"
outputs:
  answers: '{{ steps.solve_all.answer | join(", ") }}'
  total: "{{ steps.check.output }}"
)";

TEST(Server, ResumesInterruptedJobsAfterARestart) {
  auto data = fresh_dir("resume");
  const std::string body = json{{"yaml", kSlowMap}}.dump();
  json reference;
  {
    RunningServer s(test_options(fresh_dir("resume-ref")));
    ASSERT_TRUE(s.ok()) << s.error();
    auto c = s.client();
    reference = wait_finished(c, body_of(c.Post("/v1/jobs", body, kJson))["id"]);
    ASSERT_EQ(reference["state"], "succeeded") << reference.dump();
  }
  std::string id;
  int done_at_stop = 0;
  {
    RunningServer s(test_options(data));
    ASSERT_TRUE(s.ok()) << s.error();
    auto c = s.client();
    id = body_of(c.Post("/v1/jobs", body, kJson))["id"];
    // Stop once two map items have finished (their checkpoints are written first).
    for (int i = 0; i < 30000; ++i) {
      auto j = body_of(c.Get("/v1/jobs/" + id));
      ASSERT_TRUE(j["state"] == "running" || j["state"] == "queued") << j.dump();
      done_at_stop = j["steps"][0]["units_done"].get<int>();
      if (done_at_stop >= 2) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    s.stop();
  }
  ASSERT_GE(done_at_stop, 2);
  RunningServer s(test_options(data));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  auto done = wait_finished(c, id);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["resumes"], 1);
  EXPECT_EQ(done["outputs"], reference["outputs"]);
  // The events after the restart do not run the checkpointed items again.
  std::string stream;
  c.Get("/v1/jobs/" + id + "/events", [&](const char* d, std::size_t n) {
    stream.append(d, n);
    return true;
  });
  const auto resumed_at = stream.find("event: job_resumed");
  ASSERT_NE(resumed_at, std::string::npos);
  int items_after = 0;
  for (auto p = stream.find("event: unit_finished", resumed_at); p != std::string::npos;
       p = stream.find("event: unit_finished", p + 1))
    ++items_after;
  EXPECT_LE(items_after, 6 - done_at_stop + 1) << stream;  // the item cut short runs again
}

}  // namespace
}  // namespace agentrt::api

namespace agentrt::api {
namespace {

// Bytes flipped in the store's files: the server still starts, names what it dropped, and
// never serves a damaged record (a job is either intact or failed with the reason).
TEST(Server, StartsOverADamagedStoreAndNamesWhatItDropped) {
  auto data = testing::fresh_dir("damaged");
  std::vector<std::string> ids;
  {
    RunningServer s(test_options(data));
    ASSERT_TRUE(s.ok()) << s.error();
    auto c = s.client();
    for (int i = 0; i < 3; ++i)
      ids.push_back(body_of(c.Post("/v1/jobs", R"({"workflow": "single_agent"})", kJson))["id"]);
    for (const auto& id : ids)
      ASSERT_EQ(wait_finished(c, id)["state"], "succeeded");
  }
  // Flip bytes all over every table and log file of the store.
  std::mt19937 rng(7);
  int damaged = 0;
  for (const auto& f : std::filesystem::directory_iterator(data / "store")) {
    const auto ext = f.path().extension();
    if (ext != ".sst" && ext != ".log") continue;
    std::fstream io(f.path(), std::ios::in | std::ios::out | std::ios::binary);
    const auto size = static_cast<std::size_t>(std::filesystem::file_size(f.path()));
    for (int k = 0; size > 0 && k < 3; ++k) {
      io.seekg(static_cast<std::streamoff>(rng() % size));
      char b = 0;
      io.read(&b, 1);
      io.seekp(io.tellg() - std::streamoff(1));
      b = static_cast<char>(b ^ 0x5a);
      io.write(&b, 1);
    }
    ++damaged;
  }
  ASSERT_GT(damaged, 0);
  RunningServer s(test_options(data));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  int lost = 0;
  for (const auto& id : ids) {
    auto r = c.Get("/v1/jobs/" + id);
    ASSERT_TRUE(r);
    if (r->status == 404) {  // its record was lost whole (named in the problems)
      ++lost;
      continue;
    }
    auto j = body_of(r);
    if (j["state"] == "failed") {
      ++lost;
      EXPECT_EQ(j["error"]["code"], "corrupt") << j.dump();
    } else {
      EXPECT_EQ(j["state"], "succeeded") << j.dump();
      EXPECT_EQ(j["outputs"]["answer"], "4") << j.dump();
    }
  }
  if (lost > 0) {
    EXPECT_FALSE(s.problems().empty());
  }
  for (const auto& p : s.problems())
    std::printf("startup problem: %s\n", p.c_str());
  // The server still runs new jobs.
  auto id = body_of(c.Post("/v1/jobs", R"({"workflow": "single_agent"})", kJson))["id"];
  EXPECT_EQ(wait_finished(c, id)["state"], "succeeded");
}

}  // namespace
}  // namespace agentrt::api
