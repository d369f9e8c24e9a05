// The Engine on the CUDA backend: greedy output through prefix reuse, fork (copy-on-write of
// a partial block), pause/resume, host-tier promotion and swap preemption equals a cold run
// on the CPU backend, token for token (f32 storage, so both compute the same function).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/cpu/cpu_backend.h"
#include "engine/engine.h"
#include "engine/model/model.h"
#include "kernels/cuda_backend.h"
#include "kernels/test_util.h"
#include "storage/kv_store.h"

namespace agentrt::kernels {
namespace {

using namespace std::chrono_literals;

class CudaEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    AGENTRT_REQUIRE_CUDA_DEVICE();
    auto m =
        model::Model::load(std::string(AGENTRT_SOURCE_DIR) + "/tests/fixtures/models/qwen2-bias");
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    model_ = *m;
    std::ifstream in(std::string(AGENTRT_SOURCE_DIR) +
                     "/tests/fixtures/models/qwen2-bias/golden.json");
    golden_ = nlohmann::json::parse(in);
  }

  struct Rig {
    std::unique_ptr<Backend> backend;
    std::unique_ptr<Engine> engine;
    kv::FakeClock clock;
  };

  std::unique_ptr<Rig> rig(bool cuda, int num_blocks, int block_size, EngineOptions opt = {},
                           kv::KvTier* persistent = nullptr) {
    auto r = std::make_unique<Rig>();
    if (cuda) {
      auto b = CudaBackend::create(model_, {num_blocks, block_size, Dtype::f32, 0});
      EXPECT_TRUE(b.ok()) << b.error().to_string();
      if (!b.ok()) return nullptr;
      r->backend = std::move(*b);
    } else {
      auto b = cpu::CpuBackend::create(model_, {num_blocks, block_size, 2});
      EXPECT_TRUE(b.ok());
      r->backend = std::move(*b);
    }
    auto e = Engine::create(
        {r->backend.get(), &model_->config(), model_->fingerprint(), persistent, &r->clock}, opt);
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

  static std::map<RequestId, std::vector<std::int32_t>> drain(Engine& e) {
    std::map<RequestId, std::vector<std::int32_t>> out;
    for (int i = 0; i < 100000 && e.has_work(); ++i) {
      auto ev = e.step();
      EXPECT_TRUE(ev.ok()) << ev.error().to_string();
      if (!ev.ok()) break;
      for (const auto& x : *ev) {
        EXPECT_NE(x.kind, EventKind::error) << x.message;
        if (x.kind == EventKind::token) out[x.request].push_back(x.token);
      }
    }
    EXPECT_FALSE(e.has_work());
    return out;
  }

  std::vector<std::int32_t> cold_cpu(const std::vector<std::int32_t>& prompt, int max_tokens) {
    auto r = rig(false, 64, 16);
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

TEST_F(CudaEngine, PrefixReuseAndForkMatchCpu) {
  // The fork below comes after the 7th token is seen: with overlapped steps the 8th would
  // be in flight and the child would start after it (EngineOptions::overlap_steps).
  EngineOptions opt;
  opt.overlap_steps = false;
  auto r = rig(true, 64, 16, opt);
  ASSERT_TRUE(r);
  const auto p = prompt(2);
  auto a = r->engine->add_request(greedy(p, 20));
  auto first = drain(*r->engine)[*a];
  auto b = r->engine->add_request(greedy(p, 30));
  std::vector<std::int32_t> parent;
  while (parent.size() < 7) {
    auto ev = r->engine->step();
    ASSERT_TRUE(ev.ok());
    for (const auto& x : *ev)
      parent.push_back(x.token);
  }
  const RequestId child = r->engine->fork(*b);
  auto rest = drain(*r->engine);
  parent.insert(parent.end(), rest[*b].begin(), rest[*b].end());
  const auto expected = cold_cpu(p, 30);
  EXPECT_EQ(first, std::vector<std::int32_t>(expected.begin(), expected.begin() + 20));
  EXPECT_EQ(parent, expected);
  EXPECT_EQ(rest[child], std::vector<std::int32_t>(expected.begin() + 7, expected.end()));
  EXPECT_GE(r->engine->kv_metrics().hit_tokens[0], 32);
  EXPECT_GT(r->engine->kv_metrics().cow_copies, 0);
}

// Overlapped steps (the default on this backend): requests that stop at a stop token (its
// next token computed and thrown away), pause at it and resume, and run beside others to
// max_tokens give the CPU backend's tokens.
TEST_F(CudaEngine, OverlappedStepsMatchCpu) {
  auto r = rig(true, 64, 16);
  ASSERT_TRUE(r);
  std::vector<std::vector<std::int32_t>> prompts, want;
  std::vector<RequestId> ids;
  for (int i = 0; i < 6; ++i) {
    std::vector<std::int32_t> p = prompt(i % 3);
    p.push_back(50 + i);
    auto full = cold_cpu(p, 20);
    auto req = greedy(p, 20);
    // Even ones stop at the first token from the 6th on that no earlier token repeats.
    if (i % 2 == 0 && std::any_of(full.begin() + 5, full.end(), [&](std::int32_t t) {
          return std::find(full.begin(), full.begin() + 5, t) == full.begin() + 5;
        })) {
      const auto at = static_cast<std::ptrdiff_t>(
          std::find_if(full.begin() + 5, full.end(),
                       [&](std::int32_t t) {
                         return std::find(full.begin(), full.begin() + 5, t) == full.begin() + 5;
                       }) -
          full.begin());
      req.params.stop_token_ids = {full[static_cast<std::size_t>(at)]};
      full.resize(static_cast<std::size_t>(at) + 1);
    }
    if (i == 2) {
      req.pause_on_finish = 10s;
      req.pause_only_at_stop = true;
    }
    prompts.push_back(p);
    want.push_back(full);
    ids.push_back(*r->engine->add_request(req));
  }
  auto out = drain(*r->engine);
  for (std::size_t i = 0; i < ids.size(); ++i)
    EXPECT_EQ(out[ids[i]], want[i]) << "request " << i;
  EXPECT_GT(r->engine->stats().overlapped_steps, 10);
  // The paused one resumes with a tool result, still overlapped.
  const std::vector<std::int32_t> tool{5, 6, 7};
  r->engine->resume(ids[2], tool, {.max_tokens = 12});
  auto turn2 = drain(*r->engine)[ids[2]];
  std::vector<std::int32_t> context = prompts[2];
  context.insert(context.end(), want[2].begin(), want[2].end());
  context.insert(context.end(), tool.begin(), tool.end());
  EXPECT_EQ(turn2, cold_cpu(context, 12));
}

TEST_F(CudaEngine, PauseResumeAndHostTierMatchCpu) {
  EngineOptions opt;
  opt.host_tier_bytes = 64u << 20;
  auto r = rig(true, 8, 16, opt);
  ASSERT_TRUE(r);
  auto req = greedy(prompt(2), 12);
  req.pause_on_finish = 10s;
  auto a = r->engine->add_request(req);
  auto turn1 = drain(*r->engine)[*a];
  ASSERT_EQ(turn1.size(), 12u);
  r->clock.advance(2s);
  const std::vector<std::int32_t> tool{5, 6, 7, 8, 9, 10, 11};
  r->engine->resume(*a, tool, {.max_tokens = 16});
  auto turn2 = drain(*r->engine)[*a];
  std::vector<std::int32_t> context = prompt(2);
  context.insert(context.end(), turn1.begin(), turn1.end());
  context.insert(context.end(), tool.begin(), tool.end());
  EXPECT_EQ(turn2, cold_cpu(context, 16));
  r->engine->cancel(*a);
  ASSERT_TRUE(r->engine->step().ok());
  // Evict through the host tier, then hit it again.
  auto x = r->engine->add_request(greedy(prompt(0), 60));
  drain(*r->engine);
  auto c = r->engine->add_request(greedy(prompt(2), 20));
  EXPECT_EQ(drain(*r->engine)[*c], cold_cpu(prompt(2), 20));
  EXPECT_GT(r->engine->kv_metrics().hit_tokens[1], 0);
  (void)x;
}

TEST_F(CudaEngine, SwapPreemptionUnderPressureMatchesCpu) {
  EngineOptions opt;
  opt.swap_preemption = true;
  opt.max_tokens_per_step = 64;
  auto r = rig(true, 14, 4, opt);
  ASSERT_TRUE(r);
  std::vector<std::pair<RequestId, std::vector<std::int32_t>>> reqs;
  for (int i = 0; i < 10; ++i) {
    std::vector<std::int32_t> p = prompt(i % 3);
    p.resize(std::min<std::size_t>(p.size(), 12));
    p.push_back(40 + i);
    auto id = r->engine->add_request(greedy(p, 20));
    ASSERT_TRUE(id.ok());
    reqs.emplace_back(*id, p);
  }
  auto out = drain(*r->engine);
  EXPECT_GT(r->engine->stats().preemptions, 0);
  // Every preemption swapped (swap space is ample), and all of it came back.
  EXPECT_EQ(r->engine->stats().swap_preemptions, r->engine->stats().preemptions);
  EXPECT_EQ(r->engine->kv_metrics().swapped_in_blocks, r->engine->kv_metrics().swapped_out_blocks);
  for (const auto& [id, p] : reqs)
    EXPECT_EQ(out[id], cold_cpu(p, 20)) << "request " << id;
}

// Sampled requests draw on the device: the same seeds repeat their tokens, logprobs are
// those of the CPU backend's raw distribution; with device_sampling off they take the host
// Sampler's stream, token for token as on the CPU backend.
TEST_F(CudaEngine, SamplingOnDeviceRepeatsAndHostPathMatchesCpu) {
  auto sampled = [&](int i) {
    EngineRequest r;
    r.prompt = prompt(i % 3);
    r.params.temperature = 0.8f;
    r.params.top_p = 0.9f;
    r.params.top_k = 50;
    r.params.ignore_eos = true;
    r.params.max_tokens = 24;
    r.params.logprobs = 0;
    r.params.seed = 100 + i;
    return r;
  };
  auto run = [&](bool cuda, bool device_sampling) {
    EngineOptions opt;
    opt.device_sampling = device_sampling;
    auto r = rig(cuda, 64, 16, opt);
    std::vector<std::vector<std::pair<std::int32_t, float>>> out(6);
    std::vector<RequestId> ids;
    for (int i = 0; i < 6; ++i)
      ids.push_back(*r->engine->add_request(sampled(i)));
    for (int step = 0; step < 100000 && r->engine->has_work(); ++step) {
      auto ev = r->engine->step();
      EXPECT_TRUE(ev.ok());
      if (!ev.ok()) break;
      for (const auto& x : *ev) {
        if (x.kind != EventKind::token) continue;
        const auto k = std::find(ids.begin(), ids.end(), x.request) - ids.begin();
        out[static_cast<std::size_t>(k)].push_back({x.token, x.logprob});
      }
    }
    return out;
  };
  const auto a = run(true, true), b = run(true, true);
  const auto host = run(true, false), cpu = run(false, true);
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].size(), 24u);
    for (std::size_t t = 0; t < a[i].size(); ++t) {
      EXPECT_EQ(a[i][t].first, b[i][t].first);
      EXPECT_LE(a[i][t].second, 0.0f);
      EXPECT_EQ(host[i][t].first, cpu[i][t].first) << "request " << i << " token " << t;
      EXPECT_NEAR(host[i][t].second, cpu[i][t].second, 1e-3);
    }
  }
  // Requests 0 and 3 share a prompt; their seeds differ, and so do their samples.
  EXPECT_NE(a[3], a[0]);
}

// One RocksDB store shared by the CPU and the f32 CUDA backend: their blocks have the same
// size but another layout, so each backend only ever hits its own (Backend::kv_layout
// enters the block keys); the CUDA run recomputes and still equals the CPU.
TEST_F(CudaEngine, PersistentStoreKeepsBackendLayoutsApart) {
  const auto dir = std::filesystem::temp_directory_path() / "agentrt-cuda-kvstore-test";
  std::filesystem::remove_all(dir);
  auto store = storage::KvStore::open(dir, model_->fingerprint());
  ASSERT_TRUE(store.ok()) << store.error().to_string();
  const auto a = prompt(2);  // 48 tokens: 3 full blocks
  std::vector<std::int32_t> other;
  for (int i = 0; i < 80; ++i)
    other.push_back((i * 37 + 11) % 256);
  auto fill = [&](bool cuda) {
    auto r = rig(cuda, 6, 16, {}, store->get());
    auto id = r->engine->add_request(greedy(a, 8));
    const auto out = drain(*r->engine)[*id];
    EXPECT_TRUE(r->engine->add_request(greedy(other, 8)).ok());  // evicts a's blocks
    drain(*r->engine);
    EXPECT_TRUE(r->engine->flush_persistent().ok());
    EXPECT_GT(r->engine->kv_metrics().persisted_blocks, 0);
    return out;
  };
  auto store_hits = [&](bool cuda) {
    auto r = rig(cuda, 6, 16, {}, store->get());
    auto id = r->engine->add_request(greedy(a, 8));
    const auto out = drain(*r->engine)[*id];
    EXPECT_EQ(out, cold_cpu(a, 8)) << (cuda ? "cuda" : "cpu");
    return r->engine->kv_metrics().hit_tokens[2];  // [1]: the host tier
  };
  fill(false);
  EXPECT_EQ(store_hits(true), 0);  // the CPU's blocks are not the CUDA backend's
  EXPECT_GT(store_hits(false), 0);
  fill(true);
  EXPECT_GT(store_hits(true), 0);  // and the CUDA backend's own blocks are
  store->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace agentrt::kernels
