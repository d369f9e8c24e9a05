#include "engine/cpu/attention.h"

#include <algorithm>
#include <cmath>

namespace agentrt::cpu {

void attend_head(const AttentionArgs& a, const ChunkRows& chunk, int head,
                 std::vector<float>& scratch) {
  const int bs = a.kv->geometry().block_size;
  const int kv_head = head / (a.num_heads / a.num_kv_heads);
  const auto d = static_cast<std::size_t>(a.head_dim);
  const std::size_t kv_off = static_cast<std::size_t>(kv_head) * d;
  scratch.resize(static_cast<std::size_t>(chunk.start_pos + chunk.count));
  const auto& table = *chunk.block_table;
  for (int i = 0; i < chunk.count; ++i) {
    const std::size_t row = static_cast<std::size_t>(chunk.row0 + i);
    const float* q = a.q + row * a.q_stride + static_cast<std::size_t>(head) * d;
    const int pos = chunk.start_pos + i;
    float mx = -INFINITY;
    for (int j = 0; j <= pos; ++j) {
      const float* k = a.kv->k(a.layer, table[static_cast<std::size_t>(j / bs)], j % bs) + kv_off;
      float dot = 0.0f;
      for (std::size_t e = 0; e < d; ++e)
        dot += q[e] * k[e];
      const float s = dot * a.scale;
      scratch[static_cast<std::size_t>(j)] = s;
      mx = std::max(mx, s);
    }
    float sum = 0.0f;
    for (int j = 0; j <= pos; ++j) {
      float& s = scratch[static_cast<std::size_t>(j)];
      s = std::exp(s - mx);
      sum += s;
    }
    const float inv = 1.0f / sum;
    float* out = a.out + row * a.out_stride + static_cast<std::size_t>(head) * d;
    std::fill_n(out, d, 0.0f);
    for (int j = 0; j <= pos; ++j) {
      const float w = scratch[static_cast<std::size_t>(j)] * inv;
      const float* v = a.kv->v(a.layer, table[static_cast<std::size_t>(j / bs)], j % bs) + kv_off;
      for (std::size_t e = 0; e < d; ++e)
        out[e] += w * v[e];
    }
  }
}

}  // namespace agentrt::cpu
