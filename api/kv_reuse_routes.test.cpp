// Issue 21 through HTTP (tiny-calc on the CPU, loopback): a chat completion with
// agentrt.kv_reuse blend is served (each message's content goes to the engine as a
// segment); a job with the kv_reuse override runs and keeps it in its record; bad values
// answer with the JSON pointer of the member.
#include <gtest/gtest.h>

#include "api/server_testing.h"

namespace agentrt::api {
namespace {

using nlohmann::json;
using testing::body_of;
using testing::fresh_dir;
using testing::RunningServer;
using testing::test_options;

const char* kJson = "application/json";

TEST(KvReuseRoutes, BlendChatCompletionAndJobOverride) {
  ServerOptions o = test_options(fresh_dir("kv-reuse"));
  o.enable_thinking = false;
  RunningServer s(std::move(o));
  ASSERT_TRUE(s.ok()) << s.error();
  auto c = s.client();
  const std::string doc =
      "Kate has 3 cookies. Sam has 5 cookies. Jack has as many cookies as Xena and Kate "
      "together. Quinn has 3 fewer cookies than Jack. Xena has 1 fewer cookies than Sam.";
  json chat = {{"model", "tiny-calc"},
               {"max_tokens", 8},
               {"temperature", 0},
               {"messages",
                {{{"role", "system"}, {"content", "You check proposed answers."}},
                 {{"role", "user"}, {"content", doc + " How many cookies does Quinn have?"}}}},
               {"agentrt", {{"kv_reuse", "blend"}, {"blend_recompute", 0.15}}}};
  for (int i = 0; i < 2; ++i) {  // the second finds the first's segment
    auto r = c.Post("/v1/chat/completions", chat.dump(), kJson);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_FALSE(body_of(r)["choices"][0]["message"]["content"].is_null());
  }
  // With blend_anchors the same user message after another system prompt is placed at
  // another offset; the pool is empty, so that placement is computed in full and recorded.
  json anchored = chat;
  anchored["messages"][0]["content"] = "You are a careful checker of proposed answers.";
  anchored["agentrt"]["blend_anchors"] = true;
  auto r = c.Post("/v1/chat/completions", anchored.dump(), kJson);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(
      metrics->body.find("agentrt:blend_anchors_recorded_total{model_name=\"tiny-calc\"} 1\n"),
      std::string::npos)
      << metrics->body;
  chat["agentrt"]["kv_reuse"] = "prefix";
  auto bad = c.Post("/v1/chat/completions", chat.dump(), kJson);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(body_of(bad)["error"]["param"], "agentrt/kv_reuse") << bad->body;

  auto job = c.Post(
      "/v1/jobs",
      json({{"workflow", "single_agent"}, {"kv_reuse", "blend"}, {"blend_recompute", 0.3}}).dump(),
      kJson);
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 201) << job->body;
  const auto done = testing::wait_finished(c, body_of(job)["id"]);
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  auto refused = c.Post(
      "/v1/jobs", json({{"workflow", "single_agent"}, {"blend_recompute", 0.3}}).dump(), kJson);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 422);
  EXPECT_EQ(body_of(refused)["error"]["pointer"], "/blend_recompute") << refused->body;
}

}  // namespace
}  // namespace agentrt::api
