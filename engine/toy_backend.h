// Test support: ToyBackend, a Backend whose KV slots hold a hash of the sequence up to
// them (so a wrong block table changes the output), and Rig, an Engine over it with a fake
// clock. Used by the engine's unit tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace agentrt::testing {

inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a * 0x9e3779b97f4a7c15ull + b + 1;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  return z ^ (z >> 31);
}

// Each slot holds the hash of the sequence up to it, so wrong tables change the output.
class ToyBackend final : public Backend {
 public:
  ToyBackend(int num_blocks, int block_size, std::string layout = "toy")
      : layout_(std::move(layout)), cache_(static_cast<std::size_t>(num_blocks * block_size)) {
    geo_.num_blocks = num_blocks;
    geo_.block_size = block_size;
    geo_.num_layers = geo_.num_kv_heads = geo_.head_dim = 1;
  }
  std::string name() const override { return "toy"; }
  std::string kv_layout() const override { return layout_; }
  const KvGeometry& kv_geometry() const override { return geo_; }
  Status forward(const BatchPlan& plan, Logits& out) override {
    out = Logits{{}, 0, kVocab};
    for (const auto& s : plan.seqs) {
      for (std::size_t i = 0; i < s.tokens.size(); ++i) {
        const int pos = s.start_pos + static_cast<int>(i);
        const std::uint64_t prev = pos == 0 ? 7 : cache_[slot(s, pos - 1)];
        const std::uint64_t h = mix(prev, static_cast<std::uint64_t>(s.tokens[i]));
        cache_[slot(s, pos)] = h;
        if (i + 1 < s.tokens.size()) continue;
        for (int v = 0; v < kVocab; ++v)
          out.data.push_back(static_cast<float>(mix(h, static_cast<std::uint64_t>(v)) % 1000));
        if (pos == nan_at_pos) out.data.back() = std::numeric_limits<float>::infinity();
        ++out.rows;
      }
    }
    return ok_status();
  }
  Status copy_blocks(std::span<const std::pair<std::int32_t, std::int32_t>> pairs) override {
    for (auto [src, dst] : pairs) {
      for (int i = 0; i < geo_.block_size; ++i)
        cache_[at(dst, i)] = cache_[at(src, i)];
    }
    return ok_status();
  }
  std::size_t block_bytes() const override {
    return 8u * static_cast<std::size_t>(geo_.block_size);
  }
  Status read_block(std::int32_t id, std::span<std::byte> out) override {
    std::memcpy(out.data(), &cache_[at(id, 0)], block_bytes());
    return ok_status();
  }
  Status write_block(std::int32_t id, std::span<const std::byte> in) override {
    std::memcpy(&cache_[at(id, 0)], in.data(), block_bytes());
    return ok_status();
  }
  // Device sampling as the CUDA backend offers it: records each row's DeviceSampling and
  // picks the argmax of greedy rows (temperature 0), the lowest id of sampled ones, among
  // the tokens of the row's mask when it has one.
  bool samples_on_device() const override { return on_device; }
  bool masks_on_device() const override { return on_device; }
  Status forward_sample(const BatchPlan& plan, std::span<const DeviceSampling> params,
                        const DeviceTokenMasks& masks, bool,
                        std::vector<DeviceSample>& out) override {
    Logits logits;
    AGENTRT_TRY(forward(plan, logits));
    if (masks.fill) masks.fill();
    out.clear();
    masked_rows += masks.count;
    for (std::size_t i = 0; i < params.size(); ++i) {
      device_rows.push_back(params[i]);
      const auto row = logits.row(static_cast<int>(i));
      const std::uint64_t* m =
          params[i].mask >= 0 ? masks.words + params[i].mask * masks.words_per_row : nullptr;
      auto allowed = [m](std::size_t t) { return !m || ((m[t / 64] >> (t % 64)) & 1u); };
      std::int32_t best = -1, first = -1;
      for (std::size_t t = 0; t < row.size(); ++t) {
        if (!allowed(t)) continue;
        if (first < 0) first = static_cast<std::int32_t>(t);
        if (best < 0 || row[t] > row[static_cast<std::size_t>(best)])
          best = static_cast<std::int32_t>(t);
      }
      out.push_back({params[i].temperature == 0.0f ? best : first, 0.0f});
    }
    return ok_status();
  }

  // Overlapped steps as the CUDA backend offers them, in stream order: a launch computes at
  // once (so block copies after it see its KV, as on one stream) and its samples are handed
  // out only by collect_sample().
  bool overlaps_steps() const override { return on_device && overlap; }
  Status launch_sample(const BatchPlan& plan, std::span<const DeviceSampling> params,
                       bool want_logprobs) override {
    if (launched_.size() >= 2)
      return make_error(ErrorCode::invalid_argument, "toy: two launches outstanding");
    if (launches == fail_launch) {
      fail_launch = -1;
      return make_error(ErrorCode::internal, "toy: launch failed");
    }
    const int prev = static_cast<int>(last_.size());
    BatchPlan resolved = plan;
    for (auto& s : resolved.seqs) {
      for (auto& t : s.tokens) {
        if (t >= 0) continue;
        if (pending_row(t) >= prev)
          return make_error(ErrorCode::invalid_argument, "toy: pending token of a missing row");
        t = last_[static_cast<std::size_t>(pending_row(t))].token;
      }
    }
    std::vector<DeviceSample> out;
    AGENTRT_TRY(forward_sample(resolved, params, {}, want_logprobs, out));
    last_ = out;
    launched_.push_back(std::move(out));
    ++launches;
    return ok_status();
  }
  Status collect_sample(std::vector<DeviceSample>& out) override {
    if (launched_.empty()) return make_error(ErrorCode::invalid_argument, "toy: nothing launched");
    out = std::move(launched_.front());
    launched_.erase(launched_.begin());
    return ok_status();
  }

  static constexpr int kVocab = 32;
  int nan_at_pos = -1;  // the logits row of a chunk ending at this position gets an inf
  bool on_device = false;
  bool overlap = false;           // with on_device: overlaps_steps()
  std::int64_t launches = 0;      // launch_sample calls that queued a step
  std::int64_t fail_launch = -1;  // the launch (by that count) that fails, once
  std::vector<DeviceSampling> device_rows;
  std::int64_t masked_rows = 0;  // masks passed to forward_sample

 private:
  std::size_t at(std::int32_t b, int i) const {
    return static_cast<std::size_t>(b * geo_.block_size + i);
  }
  std::size_t slot(const SequenceChunk& s, int pos) const {
    return at(s.block_table[static_cast<std::size_t>(pos / geo_.block_size)],
              pos % geo_.block_size);
  }
  std::string layout_;
  KvGeometry geo_;
  std::vector<std::uint64_t> cache_;
  std::vector<DeviceSample> last_;                   // the newest launch's samples
  std::vector<std::vector<DeviceSample>> launched_;  // not yet collected, oldest first
};

struct Rig {
  explicit Rig(int blocks, EngineOptions opt = {}, kv::KvTier* persistent = nullptr,
               std::string layout = "toy")
      : backend(blocks, 4, std::move(layout)) {
    config.vocab_size = ToyBackend::kVocab;
    config.max_position_embeddings = 4096;
    auto e = Engine::create({&backend, &config, "toy", persistent, &clock}, opt);
    EXPECT_TRUE(e.ok());
    engine = std::move(*e);
  }
  ToyBackend backend;
  model::ModelConfig config;
  kv::FakeClock clock;
  std::unique_ptr<Engine> engine;
};

inline EngineRequest req(std::int32_t first, int n, int max_tokens) {
  EngineRequest r;
  for (int i = 0; i < n; ++i)
    r.prompt.push_back((first + i) % ToyBackend::kVocab);
  r.params.temperature = 0;
  r.params.max_tokens = max_tokens;
  return r;
}

}  // namespace agentrt::testing
