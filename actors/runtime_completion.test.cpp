// Runtime::start_completion, the raw completion path of the OpenAI API: n choices of one
// prompt, top logprobs, cancellation of running and waiting choices, a pause at EOS.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "actors/completion_stream.h"
#include "actors/runtime.h"
#include "engine/chat/chat_template.h"

namespace agentrt::actors {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Runtime> make_runtime(int max_pending = 64) {
  RuntimeOptions o;
  o.model_dir = std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc";
  o.kv_blocks = 256;
  o.cpu_threads = 2;
  o.actor_threads = 2;
  o.max_pending_requests = max_pending;
  auto rt = Runtime::create(std::move(o));
  EXPECT_TRUE(rt.ok()) << rt.error().to_string();
  return rt.ok() ? std::move(*rt) : nullptr;
}

CompletionRequest request(const Runtime& rt, int max_tokens) {
  CompletionRequest r;
  r.request.prompt = rt.tokenizer().encode("Sam has 13 stamps. Kate has 7 more stamps", false);
  r.request.params.max_tokens = max_tokens;
  r.request.params.ignore_eos = true;
  return r;
}

// Every event of the stream until it ends, by choice.
std::vector<std::vector<CompletionEvent>> drain(CompletionStream& s) {
  std::vector<std::vector<CompletionEvent>> out(static_cast<std::size_t>(s.choices()));
  CompletionEvent e;
  while (s.next(e, std::chrono::steady_clock::now() + 60s))
    out[static_cast<std::size_t>(e.choice)].push_back(e);
  return out;
}

TEST(RuntimeCompletion, NChoicesEachEndOnceWithTheirTokensAndTopLogprobs) {
  auto rt = make_runtime();
  ASSERT_TRUE(rt);
  auto req = request(*rt, 6);
  req.n = 3;
  req.request.params.temperature = 1.0f;
  req.request.params.seed = 11;
  req.request.params.logprobs = 2;
  auto s = rt->start_completion(req);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  auto events = drain(**s);
  std::set<RequestId> ids;
  for (const auto& choice : events) {
    ASSERT_FALSE(choice.empty());
    int tokens = 0, ends = 0;
    for (const auto& e : choice) {
      tokens += static_cast<int>(e.tokens.size());
      ends += e.ends() ? 1 : 0;
      for (const auto& t : e.tokens)
        EXPECT_EQ(t.top.size(), 2u);
      if (e.request != 0) ids.insert(e.request);
    }
    EXPECT_EQ(tokens, 6);
    EXPECT_EQ(ends, 1);
    EXPECT_EQ(choice.back().finish, FinishReason::length);
  }
  EXPECT_EQ(ids.size(), 3u);  // one engine request per choice
  EXPECT_FALSE(rt->start_completion(CompletionRequest{req.request, 0, std::nullopt}).ok());
}

TEST(RuntimeCompletion, CancelEndsRunningAndWaitingChoices) {
  auto rt = make_runtime(/*max_pending=*/1);
  ASSERT_TRUE(rt);
  auto running = rt->start_completion(request(*rt, 3000));
  ASSERT_TRUE(running.ok());
  auto waiting = rt->start_completion(request(*rt, 3000));  // no slot: it waits
  ASSERT_TRUE(waiting.ok());
  CompletionEvent first;
  ASSERT_TRUE((*running)->next(first, std::chrono::steady_clock::now() + 60s));
  (*waiting)->cancel();
  (*running)->cancel();
  for (auto* s : {running->get(), waiting->get()}) {
    auto events = drain(*s);
    ASSERT_FALSE(events[0].empty());
    EXPECT_TRUE(events[0].back().cancelled);
  }
  for (int i = 0; i < 500 && rt->metrics().active_requests > 0; ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(rt->metrics().active_requests, 0);
}

TEST(RuntimeCompletion, APauseAtEosKeepsTheKvUntilCancelled) {
  auto rt = make_runtime();
  ASSERT_TRUE(rt);
  std::ifstream f(std::string(AGENTRT_SOURCE_DIR) + "/models/tiny-calc/examples/beads.json");
  std::stringstream text;
  text << f.rdbuf();
  auto conv = chat::parse_conversation_json(text.str(), "beads.json");
  ASSERT_TRUE(conv.ok());
  chat::RenderOptions ro;
  ro.add_generation_prompt = true;
  ro.enable_thinking = false;
  auto prompt = chat::render(rt->chat_family(), *conv, ro);
  ASSERT_TRUE(prompt.ok());
  CompletionRequest req;
  req.request.prompt = rt->tokenizer().encode(*prompt, false);
  req.request.params.temperature = 0.0f;
  req.request.params.max_tokens = 200;
  req.pause_at_eos = 60s;  // the reply (a tool call) ends in <|im_end|>
  auto s = rt->start_completion(req);
  ASSERT_TRUE(s.ok());
  auto events = drain(**s)[0];
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().finish, FinishReason::stop_token);
  ASSERT_TRUE(events.back().paused);
  EXPECT_EQ(rt->metrics().active_requests, 1);
  for (int i = 0; i < 500 && rt->metrics().kv.pinned_blocks == 0; ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_GT(rt->metrics().kv.pinned_blocks, 0);
  rt->cancel_request(events.back().request);
  for (int i = 0; i < 500 && rt->metrics().active_requests > 0; ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(rt->metrics().active_requests, 0);
  EXPECT_EQ(rt->metrics().kv.pinned_blocks, 0);
}

}  // namespace
}  // namespace agentrt::actors
