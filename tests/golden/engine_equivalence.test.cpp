// The Engine against cold runs on the golden fixtures: greedy output stays token-identical
// through prefix reuse, fork, pause/resume, host-tier promotion and preemption (swap and
// recompute) under a tiny KV pool with many concurrent sequences.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/cpu/cpu_backend.h"
#include "engine/engine.h"
#include "engine/model/model.h"

namespace agentrt {
namespace {

using namespace std::chrono_literals;

std::string fixture_dir(const std::string& name) {
  return std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/models/" + name;
}

struct Rig {
  std::unique_ptr<cpu::CpuBackend> backend;
  std::unique_ptr<Engine> engine;
  kv::FakeClock clock;
};

class EngineGolden : public ::testing::TestWithParam<std::string> {
 public:
  void SetUp() override {
    auto m = model::Model::load(fixture_dir(GetParam()));
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    model_ = *m;
    std::ifstream in(fixture_dir(GetParam()) + "/golden.json");
    golden_ = nlohmann::json::parse(in);
  }

  std::unique_ptr<Rig> rig(int num_blocks, int block_size, EngineOptions opt = {}) {
    auto r = std::make_unique<Rig>();
    auto b = cpu::CpuBackend::create(model_, {num_blocks, block_size, 2});
    EXPECT_TRUE(b.ok());
    r->backend = std::move(*b);
    auto e = Engine::create(
        {r->backend.get(), &model_->config(), model_->fingerprint(), nullptr, &r->clock}, opt);
    EXPECT_TRUE(e.ok()) << e.error().to_string();
    r->engine = std::move(*e);
    return r;
  }

  static EngineRequest greedy(std::vector<std::int32_t> prompt, int max_tokens) {
    EngineRequest r;
    r.prompt = std::move(prompt);
    r.params.temperature = 0;
    r.params.ignore_eos = true;
    r.params.max_tokens = max_tokens;
    return r;
  }

  // Steps until idle; returns each request's tokens.
  static std::map<RequestId, std::vector<std::int32_t>> drain(Engine& e, int max_steps = 100000) {
    std::map<RequestId, std::vector<std::int32_t>> out;
    for (int i = 0; i < max_steps && e.has_work(); ++i) {
      auto ev = e.step();
      EXPECT_TRUE(ev.ok()) << ev.error().to_string();
      if (!ev.ok()) break;
      for (const auto& x : *ev) {
        EXPECT_NE(x.kind, EventKind::error) << x.message;
        if (x.kind == EventKind::token) out[x.request].push_back(x.token);
      }
    }
    EXPECT_FALSE(e.has_work()) << "did not finish";
    return out;
  }

  std::vector<std::int32_t> cold(const std::vector<std::int32_t>& prompt, int max_tokens) {
    auto r = rig(64, 16);
    auto id = r->engine->add_request(greedy(prompt, max_tokens));
    EXPECT_TRUE(id.ok());
    return drain(*r->engine)[*id];
  }

  std::vector<std::int32_t> prompt(int i) const {
    return golden_["prompts"][static_cast<std::size_t>(i)]["tokens"]
        .get<std::vector<std::int32_t>>();
  }

  std::shared_ptr<const model::Model> model_;
  nlohmann::json golden_;
};

TEST_P(EngineGolden, ColdRunMatchesTransformersGreedy) {
  const auto& g = golden_["greedy"];
  auto expected = g["tokens"].get<std::vector<std::int32_t>>();
  EXPECT_EQ(cold(g["prompt"].get<std::vector<std::int32_t>>(), static_cast<int>(expected.size())),
            expected);
}

TEST_P(EngineGolden, PrefixReuseIsTokenIdentical) {
  auto r = rig(64, 16);
  const auto p = prompt(2);  // 48 tokens
  auto a = r->engine->add_request(greedy(p, 20));
  auto first = drain(*r->engine)[*a];
  auto b = r->engine->add_request(greedy(p, 20));
  auto second = drain(*r->engine)[*b];
  EXPECT_EQ(first, second);
  EXPECT_EQ(first, cold(p, 20));
  EXPECT_EQ(r->engine->kv_metrics().hit_tokens[0], 32);
}

TEST_P(EngineGolden, ForkContinuesLikeTheParent) {
  auto r = rig(64, 16);
  const auto p = prompt(2);
  auto a = r->engine->add_request(greedy(p, 30));
  std::vector<std::int32_t> parent;
  while (parent.size() < 7) {  // a partial block is shared at the fork
    auto ev = r->engine->step();
    ASSERT_TRUE(ev.ok());
    for (const auto& x : *ev)
      parent.push_back(x.token);
  }
  const RequestId child = r->engine->fork(*a);
  auto rest = drain(*r->engine);
  parent.insert(parent.end(), rest[*a].begin(), rest[*a].end());
  const auto expected = cold(p, 30);
  EXPECT_EQ(parent, expected);
  std::vector<std::int32_t> tail(expected.begin() + 7, expected.end());
  EXPECT_EQ(rest[child], tail);
  EXPECT_GT(r->engine->kv_metrics().cow_copies, 0);
}

TEST_P(EngineGolden, PauseAndResumeHitsPinnedPrefix) {
  auto r = rig(64, 16);
  auto req = greedy(prompt(2), 12);
  req.pause_on_finish = 10s;
  auto a = r->engine->add_request(req);
  auto turn1 = drain(*r->engine)[*a];
  ASSERT_EQ(turn1.size(), 12u);
  r->clock.advance(2s);  // the tool runs
  const std::vector<std::int32_t> tool{5, 6, 7, 8, 9, 10, 11};
  r->engine->resume(*a, tool, {.max_tokens = 16});
  const auto hits_before = r->engine->kv_metrics().hit_tokens[0];
  auto turn2 = drain(*r->engine)[*a];
  std::vector<std::int32_t> context = prompt(2);
  context.insert(context.end(), turn1.begin(), turn1.end());
  context.insert(context.end(), tool.begin(), tool.end());
  EXPECT_EQ(turn2, cold(context, 16));
  EXPECT_EQ(r->engine->kv_metrics().hit_tokens[0] - hits_before, 48);  // 3 pinned blocks
  r->engine->cancel(*a);
  ASSERT_TRUE(r->engine->step().ok());
}

TEST_P(EngineGolden, HostTierPromotionIsTokenIdentical) {
  EngineOptions opt;
  opt.host_tier_bytes = 64u << 20;
  auto r = rig(6, 16, opt);
  const auto p = prompt(2);
  auto a = r->engine->add_request(greedy(p, 20));
  auto first = drain(*r->engine)[*a];
  auto b = r->engine->add_request(greedy(prompt(0), 60));  // evicts the first prompt's blocks
  drain(*r->engine);
  auto c = r->engine->add_request(greedy(p, 20));
  EXPECT_EQ(drain(*r->engine)[*c], first);
  EXPECT_GT(r->engine->kv_metrics().hit_tokens[1], 0);
  (void)b;
}

void pressure(EngineGolden& t, bool swap) {
  EngineOptions opt;
  opt.swap_preemption = swap;
  opt.max_tokens_per_step = 64;
  auto r = t.rig(/*num_blocks=*/14, /*block_size=*/4, opt);
  std::vector<std::pair<RequestId, std::vector<std::int32_t>>> reqs;
  for (int i = 0; i < 10; ++i) {
    std::vector<std::int32_t> p = t.prompt(i % 3);
    p.resize(std::min<std::size_t>(p.size(), 12));
    p.push_back(40 + i);
    auto id = r->engine->add_request(EngineGolden::greedy(p, 20));
    ASSERT_TRUE(id.ok());
    reqs.emplace_back(*id, p);
  }
  auto out = EngineGolden::drain(*r->engine);
  const EngineStats st = r->engine->stats();
  const kv::KvMetrics& m = r->engine->kv_metrics();
  EXPECT_GT(st.preemptions, 0);
  if (swap) {
    // Every preemption swapped (swap space is ample), and all of it came back.
    EXPECT_EQ(st.swap_preemptions, st.preemptions);
    EXPECT_GT(m.swapped_out_blocks, 0);
    EXPECT_EQ(m.swapped_in_blocks, m.swapped_out_blocks);
  } else {
    EXPECT_EQ(st.swap_preemptions, 0);
    EXPECT_EQ(m.swapped_out_blocks, 0);
  }
  for (const auto& [id, p] : reqs)
    EXPECT_EQ(out[id], t.cold(p, 20)) << "request " << id;
}

TEST_P(EngineGolden, TinyPoolSwapPreemptionFinishesAndMatches) {
  pressure(*this, true);
}
TEST_P(EngineGolden, TinyPoolRecomputePreemptionFinishesAndMatches) {
  pressure(*this, false);
}

INSTANTIATE_TEST_SUITE_P(Architectures, EngineGolden,
                         ::testing::Values("llama-gqa", "llama3-rope-tied", "qwen2-bias",
                                           "qwen3-qknorm", "mistral-gqa"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace agentrt
