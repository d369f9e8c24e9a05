#include "engine/cpu/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/cpu/cpu_isa.h"

namespace agentrt::cpu {
namespace {

// Every ISA path against a double-precision reference, on a GQA layout with head_dim not a
// multiple of 16 (masked tails) and a chunk that spans several blocks.
TEST(Attention, EveryIsaMatchesReference) {
  for (int head_dim : {64, 128, 40, 6}) {
    KvGeometry geo;
    geo.num_blocks = 8;
    geo.block_size = 4;
    geo.num_layers = 1;
    geo.num_kv_heads = 2;
    geo.head_dim = head_dim;
    CpuKvCache kv(geo);
    const int heads = 6, count = 5, start = 13;  // positions 13..17, five blocks
    const std::vector<std::int32_t> table = {3, 0, 7, 1, 5};
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-2, 2);
    const auto d = static_cast<std::size_t>(head_dim);
    for (int p = 0; p < start + count; ++p) {
      float* k = kv.k(0, table[static_cast<std::size_t>(p / 4)], p % 4);
      float* v = kv.v(0, table[static_cast<std::size_t>(p / 4)], p % 4);
      for (std::size_t e = 0; e < 2 * d; ++e) {
        k[e] = dist(rng);
        v[e] = dist(rng);
      }
    }
    const std::size_t width = heads * d;
    std::vector<float> q(count * width);
    for (auto& x : q)
      x = dist(rng);
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    std::vector<double> ref(count * width);
    for (int i = 0; i < count; ++i) {
      for (int h = 0; h < heads; ++h) {
        const int kvh = h / 3, pos = start + i;
        std::vector<double> s(static_cast<std::size_t>(pos + 1));
        double mx = -1e30, sum = 0;
        for (int j = 0; j <= pos; ++j) {
          const float* k = kv.k(0, table[static_cast<std::size_t>(j / 4)], j % 4) + kvh * d;
          double dot = 0;
          for (std::size_t e = 0; e < d; ++e)
            dot += double(q[i * width + h * d + e]) * k[e];
          s[static_cast<std::size_t>(j)] = dot * scale;
          mx = std::max(mx, s[static_cast<std::size_t>(j)]);
        }
        for (auto& x : s)
          sum += (x = std::exp(x - mx));
        for (int j = 0; j <= pos; ++j) {
          const float* v = kv.v(0, table[static_cast<std::size_t>(j / 4)], j % 4) + kvh * d;
          for (std::size_t e = 0; e < d; ++e)
            ref[i * width + h * d + e] += s[static_cast<std::size_t>(j)] / sum * v[e];
        }
      }
    }
    for (CpuIsa isa : {CpuIsa::scalar, CpuIsa::avx2, CpuIsa::avx512}) {
      if (static_cast<int>(isa) > static_cast<int>(detected_cpu_isa())) continue;
      force_cpu_isa(isa);
      std::vector<float> out(count * width, 99.0f);
      AttentionArgs args{&kv, 0, heads, 2, head_dim, scale, q.data(), width, out.data(), width};
      const ChunkRows chunk{0, count, start, &table};
      std::vector<float> scratch;
      for (int kvh = 0; kvh < 2; ++kvh) {
        attend(args, chunk, kvh, 0, 2, scratch);  // rows split over two calls
        attend(args, chunk, kvh, 2, count - 2, scratch);
      }
      for (std::size_t i = 0; i < out.size(); ++i)
        ASSERT_NEAR(out[i], ref[i], 2e-6 * 16)
            << cpu_isa_name(isa) << " d=" << head_dim << " " << i;
    }
    force_cpu_isa(std::nullopt);
  }
}

TEST(CpuIsa, ForceLowersAndClearRestores) {
  force_cpu_isa(CpuIsa::scalar);
  EXPECT_EQ(cpu_isa(), CpuIsa::scalar);
  force_cpu_isa(std::nullopt);
  EXPECT_LE(static_cast<int>(cpu_isa()), static_cast<int>(detected_cpu_isa()));
}

}  // namespace
}  // namespace agentrt::cpu
