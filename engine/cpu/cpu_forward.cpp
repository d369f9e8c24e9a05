// CpuBackend::forward: one step of the decoder over every token of the plan.
#include <algorithm>
#include <cmath>

#include "engine/cpu/cpu_backend.h"
#include "engine/cpu/cpu_ops.h"

namespace agentrt::cpu {

namespace {
constexpr std::size_t kMaxHalfDim = 256;  // head_dim <= 512, checked at creation
// Rows of a chunk per attention work item: enough items to balance a long prefill over the
// pool, few enough that each item amortizes its dispatch.
constexpr int kAttnRowsPerItem = 16;
}  // namespace

Status CpuBackend::forward(const BatchPlan& plan, Logits& out) {
  AGENTRT_TRY(check_plan(plan));
  lay_out(plan);
  embed_tokens();
  for (int layer = 0; layer < config_.num_layers; ++layer) {
    attention_block(layer);
    mlp_block(layer);
  }
  write_logits(out);
  return ok_status();
}

void CpuBackend::embed_tokens() {
  const auto hidden = static_cast<std::size_t>(config_.hidden_size);
  const std::size_t rows = step_.tokens.size();
  step_.x.resize(rows * hidden);
  pool_->parallel_for(rows, [&](std::size_t t) {
    weights_.embed.row(static_cast<std::size_t>(step_.tokens[t]), hidden,
                       step_.x.data() + t * hidden);
  });
}

void CpuBackend::lay_out(const BatchPlan& plan) {
  Step& s = step_;
  s.tokens.clear();
  s.positions.clear();
  s.chunk_of_row.clear();
  s.chunks.clear();
  s.logit_rows.clear();
  s.attn_items.clear();
  for (const auto& seq : plan.seqs) {
    const int row0 = static_cast<int>(s.tokens.size());
    const int count = static_cast<int>(seq.tokens.size());
    for (int i = 0; i < count; ++i) {
      s.tokens.push_back(seq.tokens[static_cast<std::size_t>(i)]);
      s.positions.push_back(seq.start_pos + i);
      s.chunk_of_row.push_back(static_cast<int>(s.chunks.size()));
      if (seq.all_logits || (!seq.no_logits && i == count - 1)) s.logit_rows.push_back(row0 + i);
    }
    const int chunk = static_cast<int>(s.chunks.size());
    s.chunks.push_back({row0, count, seq.start_pos, &seq.block_table});
    for (int first = 0; first < count; first += kAttnRowsPerItem)
      s.attn_items.push_back({chunk, first, std::min(kAttnRowsPerItem, count - first)});
  }
}

void CpuBackend::prepare_qkv(int layer, std::size_t row) {
  const auto& w = weights_.layers[static_cast<std::size_t>(layer)];
  const auto hd = static_cast<std::size_t>(config_.head_dim);
  const auto heads = static_cast<std::size_t>(config_.num_heads);
  const auto kv_heads = static_cast<std::size_t>(config_.num_kv_heads);
  const std::size_t width = (heads + 2 * kv_heads) * hd;
  const auto eps = static_cast<float>(config_.rms_norm_eps);
  float* r = step_.qkv.data() + row * width;
  if (!w.bqkv.empty()) {
    for (std::size_t i = 0; i < width; ++i)
      r[i] += w.bqkv[i];
  }
  float cos[kMaxHalfDim], sin[kMaxHalfDim];
  const int pos = step_.positions[row];
  rope_.angles(pos, cos, sin);
  for (std::size_t h = 0; h < heads + kv_heads; ++h) {  // q heads, then k heads
    float* v = r + h * hd;
    if (config_.qk_norm) rms_norm(v, h < heads ? w.q_norm.data() : w.k_norm.data(), hd, eps, v);
    rope_.apply(v, cos, sin);
  }
  const auto& chunk = step_.chunks[static_cast<std::size_t>(step_.chunk_of_row[row])];
  const int bs = kv_.geometry().block_size;
  const std::int32_t block = (*chunk.block_table)[static_cast<std::size_t>(pos / bs)];
  std::copy_n(r + heads * hd, kv_heads * hd, kv_.k(layer, block, pos % bs));
  std::copy_n(r + (heads + kv_heads) * hd, kv_heads * hd, kv_.v(layer, block, pos % bs));
}

void CpuBackend::project_qkv(int layer) {
  const auto& w = weights_.layers[static_cast<std::size_t>(layer)];
  const auto hidden = static_cast<std::size_t>(config_.hidden_size);
  const auto hd = static_cast<std::size_t>(config_.head_dim);
  const std::size_t width =
      (static_cast<std::size_t>(config_.num_heads) + 2 * config_.num_kv_heads) * hd;
  const std::size_t rows = step_.tokens.size();
  const auto eps = static_cast<float>(config_.rms_norm_eps);
  step_.h.resize(rows * hidden);
  step_.qkv.resize(rows * width);
  pool_->parallel_for(rows, [&](std::size_t t) {
    rms_norm(step_.x.data() + t * hidden, w.attn_norm.data(), hidden, eps,
             step_.h.data() + t * hidden);
  });
  matmul_bt(*pool_,
            {step_.h.data(), hidden, nullptr, nullptr, step_.qkv.data(), width, rows, width, hidden,
             0.0f},
            w.wqkv);
  pool_->parallel_for(rows, [&](std::size_t t) { prepare_qkv(layer, t); });
}

void CpuBackend::attention_block(int layer) {
  const auto& w = weights_.layers[static_cast<std::size_t>(layer)];
  const auto hidden = static_cast<std::size_t>(config_.hidden_size);
  const auto hd = static_cast<std::size_t>(config_.head_dim);
  const auto heads = static_cast<std::size_t>(config_.num_heads);
  const std::size_t q_width = heads * hd;
  const std::size_t width = q_width + 2 * static_cast<std::size_t>(config_.num_kv_heads) * hd;
  const std::size_t rows = step_.tokens.size();
  step_.attn.resize(rows * q_width);
  project_qkv(layer);
  AttentionArgs args{&kv_,
                     layer,
                     config_.num_heads,
                     config_.num_kv_heads,
                     config_.head_dim,
                     1.0f / std::sqrt(static_cast<float>(hd)),
                     step_.qkv.data(),
                     width,
                     step_.attn.data(),
                     q_width};
  const auto kv_heads = static_cast<std::size_t>(config_.num_kv_heads);
  pool_->parallel_for(step_.attn_items.size() * kv_heads, [&](std::size_t item) {
    thread_local std::vector<float> scratch;
    const AttnItem& it = step_.attn_items[item / kv_heads];
    attend(args, step_.chunks[static_cast<std::size_t>(it.chunk)],
           static_cast<int>(item % kv_heads), it.first, it.count, scratch);
  });
  matmul_bt(*pool_,
            {step_.attn.data(), q_width, nullptr, nullptr, step_.x.data(), hidden, rows, hidden,
             q_width, 1.0f},
            w.wo);  // x += attn . Wo^T
  if (!w.bo.empty()) {
    pool_->parallel_for(rows, [&](std::size_t t) {
      float* x = step_.x.data() + t * hidden;
      for (std::size_t i = 0; i < hidden; ++i)
        x[i] += w.bo[i];
    });
  }
}

void CpuBackend::mlp_block(int layer) {
  const auto& w = weights_.layers[static_cast<std::size_t>(layer)];
  const auto hidden = static_cast<std::size_t>(config_.hidden_size);
  const auto inter = static_cast<std::size_t>(config_.intermediate_size);
  const std::size_t rows = step_.tokens.size();
  const auto eps = static_cast<float>(config_.rms_norm_eps);
  step_.gate_up.resize(rows * 2 * inter);
  step_.act.resize(rows * inter);
  pool_->parallel_for(rows, [&](std::size_t t) {
    rms_norm(step_.x.data() + t * hidden, w.ffn_norm.data(), hidden, eps,
             step_.h.data() + t * hidden);
  });
  matmul_bt(*pool_,
            {step_.h.data(), hidden, nullptr, nullptr, step_.gate_up.data(), 2 * inter, rows,
             2 * inter, hidden, 0.0f},
            w.w_gate_up);
  pool_->parallel_for(rows, [&](std::size_t t) {
    const float* g = step_.gate_up.data() + t * 2 * inter;
    silu_mul(g, g + inter, inter, step_.act.data() + t * inter);
  });
  matmul_bt(*pool_,
            {step_.act.data(), inter, nullptr, nullptr, step_.x.data(), hidden, rows, hidden, inter,
             1.0f},
            w.w_down);  // x += act . Wdown^T
}

void CpuBackend::write_logits(Logits& out) {
  const auto hidden = static_cast<std::size_t>(config_.hidden_size);
  const auto vocab = static_cast<std::size_t>(config_.vocab_size);
  const std::size_t n = step_.logit_rows.size();
  const auto eps = static_cast<float>(config_.rms_norm_eps);
  pool_->parallel_for(n, [&](std::size_t r) {
    const auto row = static_cast<std::size_t>(step_.logit_rows[r]);
    rms_norm(step_.x.data() + row * hidden, weights_.final_norm.data(), hidden, eps,
             step_.h.data() + r * hidden);
  });
  out.rows = static_cast<int>(n);
  out.vocab = config_.vocab_size;
  out.data.resize(n * vocab);
  matmul_bt(
      *pool_,
      {step_.h.data(), hidden, nullptr, nullptr, out.data.data(), vocab, n, vocab, hidden, 0.0f},
      weights_.lm_head_matrix());
}

}  // namespace agentrt::cpu
