// Engine::hint_reuse: workflow hints reach the KV manager, and a prefetch brings a prompt's
// blocks back from the host tier before its request arrives.
#include <gtest/gtest.h>

#include "engine/toy_backend.h"

namespace agentrt {
namespace {

using testing::req;
using testing::Rig;

// Runs `r` to its end; returns its first token's cached_tokens.
std::int64_t run(Engine& e, EngineRequest r) {
  EXPECT_TRUE(e.add_request(std::move(r)).ok());
  std::int64_t cached = -1;
  while (e.has_work()) {
    auto ev = e.step();
    EXPECT_TRUE(ev.ok());
    for (const auto& x : *ev) {
      if (x.cached_tokens >= 0) cached = x.cached_tokens;
    }
  }
  return cached;
}

TEST(EngineHints, PrefetchServesTheNextRequestFromTheDevice) {
  EngineOptions o;
  o.host_tier_bytes = 1u << 20;
  Rig rig(8, o);
  Engine& e = *rig.engine;
  // Prompts of four blocks in a pool of eight.
  const EngineRequest a = req(0, 16, 1);
  EXPECT_EQ(run(e, a), 0);
  run(e, req(16, 16, 1));
  run(e, req(8, 16, 1));  // a's blocks were the least recently used: now in the host tier
  EXPECT_EQ(e.kv_metrics().offloaded_blocks, 4);
  EXPECT_EQ(e.hint_reuse(1, a.prompt, 0, true), 4);
  EXPECT_EQ(e.kv_metrics().prefetched_blocks, 4);
  const auto before = e.kv_metrics();
  EXPECT_EQ(run(e, a), 12);  // all but the block holding the last token, which is computed
  EXPECT_EQ(e.kv_metrics().hit_tokens[0] - before.hit_tokens[0], 12);
  EXPECT_EQ(e.kv_metrics().hit_tokens[1], before.hit_tokens[1]);
  // Dropping the hint copies nothing.
  EXPECT_EQ(e.hint_reuse(1, a.prompt, -1, true), 0);
}

}  // namespace
}  // namespace agentrt
