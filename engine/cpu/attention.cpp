#include "engine/cpu/attention.h"

#include <algorithm>
#include <cmath>

#include "engine/cpu/cpu_isa.h"
#include "engine/cpu/simd_ops.h"

namespace agentrt::cpu {
namespace {

constexpr int kHeadsPerPass = 8;  // query heads whose scores share one read of K and V

template <class Ops>
void attend_rows(const AttentionArgs& a, const ChunkRows& chunk, int kv_head, int first, int count,
                 std::vector<float>& scratch) {
  const int bs = a.kv->geometry().block_size;
  const int group = a.num_heads / a.num_kv_heads;
  const auto d = static_cast<std::size_t>(a.head_dim);
  const std::size_t kv_off = static_cast<std::size_t>(kv_head) * d;
  const auto& table = *chunk.block_table;
  const auto max_len = static_cast<std::size_t>(chunk.start_pos + first + count);
  scratch.resize(static_cast<std::size_t>(std::min(group, kHeadsPerPass)) * max_len);
  for (int i = first; i < first + count; ++i) {
    const std::size_t row = static_cast<std::size_t>(chunk.row0 + i);
    const int pos = chunk.start_pos + i;
    const auto len = static_cast<std::size_t>(pos + 1);
    for (int h0 = 0; h0 < group; h0 += kHeadsPerPass) {
      const int g = std::min(kHeadsPerPass, group - h0);
      const float* q[kHeadsPerPass];
      float* out[kHeadsPerPass];
      float mx[kHeadsPerPass], inv[kHeadsPerPass];
      for (int k = 0; k < g; ++k) {
        const auto head = static_cast<std::size_t>(kv_head * group + h0 + k);
        q[k] = a.q + row * a.q_stride + head * d;
        out[k] = a.out + row * a.out_stride + head * d;
        mx[k] = -INFINITY;
      }
      float* s = scratch.data();
      for (std::size_t j = 0; j < len; ++j) {
        const float* kp =
            a.kv->k(a.layer, table[j / static_cast<std::size_t>(bs)], static_cast<int>(j % bs)) +
            kv_off;
        for (int k = 0; k < g; ++k) {
          const float v = Ops::dot(q[k], kp, d) * a.scale;
          s[static_cast<std::size_t>(k) * len + j] = v;
          mx[k] = std::max(mx[k], v);
        }
      }
      for (int k = 0; k < g; ++k) {
        inv[k] = 1.0f / Ops::exp_sum(s + static_cast<std::size_t>(k) * len, len, mx[k]);
        std::fill_n(out[k], d, 0.0f);
      }
      for (std::size_t j = 0; j < len; ++j) {
        const float* vp =
            a.kv->v(a.layer, table[j / static_cast<std::size_t>(bs)], static_cast<int>(j % bs)) +
            kv_off;
        for (int k = 0; k < g; ++k)
          Ops::axpy(out[k], s[static_cast<std::size_t>(k) * len + j] * inv[k], vp, d);
      }
    }
  }
}

AGENTRT_AVX512 void attend_avx512(const AttentionArgs& a, const ChunkRows& chunk, int kv_head,
                                  int first, int count, std::vector<float>& scratch) {
  attend_rows<simd::Avx512Ops>(a, chunk, kv_head, first, count, scratch);
}

AGENTRT_AVX2 void attend_avx2(const AttentionArgs& a, const ChunkRows& chunk, int kv_head,
                              int first, int count, std::vector<float>& scratch) {
  attend_rows<simd::Avx2Ops>(a, chunk, kv_head, first, count, scratch);
}

}  // namespace

void attend(const AttentionArgs& a, const ChunkRows& chunk, int kv_head, int first, int count,
            std::vector<float>& scratch) {
  switch (cpu_isa()) {
    case CpuIsa::avx512:
      return attend_avx512(a, chunk, kv_head, first, count, scratch);
    case CpuIsa::avx2:
      return attend_avx2(a, chunk, kv_head, first, count, scratch);
    case CpuIsa::scalar:
      break;
  }
  attend_rows<simd::ScalarOps>(a, chunk, kv_head, first, count, scratch);
}

}  // namespace agentrt::cpu
