// EngineOptions::kv_events: the KV manager's events reach the listener at the end of each
// step, keyed under the engine's layout fingerprint (what a cluster coordinator keys
// prompts with), without an explicit flush.
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "engine/toy_backend.h"

namespace agentrt {
namespace {

using testing::req;
using testing::Rig;

TEST(EngineKvEvents, StepsHandOverTheStoredBlocksUnderTheLayoutsKeys) {
  std::vector<kv::KvBlockEvent> events;
  int batches = 0;
  EngineOptions opt;
  opt.kv_events = [&](std::span<const kv::KvBlockEvent> b) {
    ++batches;
    events.insert(events.end(), b.begin(), b.end());
  };
  Rig rig(32, opt);  // blocks of 4 tokens
  const EngineRequest r = req(1, 10, 3);
  ASSERT_TRUE(rig.engine->add_request(r).ok());
  bool stored_after_first_step = false;
  for (int steps = 0; rig.engine->has_work(); ++steps) {
    ASSERT_TRUE(rig.engine->step().ok());
    if (steps == 0) stored_after_first_step = !events.empty();
  }
  EXPECT_TRUE(stored_after_first_step) << "the prefill's blocks are reported by its step";
  EXPECT_GT(batches, 0);
  // The prompt's two full blocks, chained as kv::KvManager keys them for this engine.
  const std::string fp = kv::layout_fingerprint("toy", "toy");
  kv::BlockKey k0 = kv::chain_key(kv::root_key(fp), std::span(r.prompt).first(4), fp);
  kv::BlockKey k1 = kv::chain_key(k0, std::span(r.prompt).subspan(4, 4), fp);
  std::vector<kv::BlockKey> stored;
  for (const auto& e : events)
    if (e.type == kv::KvEventType::stored && e.tier == 0) stored.push_back(e.key);
  ASSERT_GE(stored.size(), 2u);
  EXPECT_EQ(stored[0], k0);
  EXPECT_EQ(stored[1], k1);
}

}  // namespace
}  // namespace agentrt
