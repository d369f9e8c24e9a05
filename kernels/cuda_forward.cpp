// CudaBackend::forward: lays the step out on the host, uploads it in one copy, then runs
// embedding, the layers and the logits head on the backend's stream.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cuda_backend.h"
#include "kernels/skinny_gemm.h"
#include "kernels/small_m_gemm.h"

namespace agentrt::kernels {
namespace {

// Packs arrays into one pinned buffer at 16-byte aligned offsets.
class Packer {
 public:
  template <class T>
  std::size_t add(const std::vector<T>& v) {
    const std::size_t off = (size_ + 15) / 16 * 16;
    items_.push_back({off, v.data(), v.size() * sizeof(T)});
    size_ = off + v.size() * sizeof(T);
    return off;
  }
  std::size_t size() const { return size_; }
  void copy_to(char* dst) const {
    for (const auto& it : items_)
      std::memcpy(dst + it.off, it.src, it.bytes);
  }

 private:
  struct Item {
    std::size_t off;
    const void* src;
    std::size_t bytes;
  };
  std::vector<Item> items_;
  std::size_t size_ = 0;
};

}  // namespace

// The rows of the step (tokens, positions, blocks, chunks, tables), unpadded.
Status CudaBackend::lay_out_rows(const BatchPlan& plan) {
  Step& s = step_;
  s.tokens.clear();
  s.positions.clear();
  s.row_block.clear();
  s.row_chunk.clear();
  s.logit_rows.clear();
  s.tables.clear();
  s.chunks.clear();
  const int bs = geo_.block_size;
  for (const auto& seq : plan.seqs) {
    const int row0 = static_cast<int>(s.tokens.size());
    const int count = static_cast<int>(seq.tokens.size());
    const int chunk = static_cast<int>(s.chunks.size());
    const int blocks = (seq.start_pos + count + bs - 1) / bs;
    s.chunks.push_back({row0, count, seq.start_pos, static_cast<std::int32_t>(s.tables.size())});
    s.tables.insert(s.tables.end(), seq.block_table.begin(), seq.block_table.begin() + blocks);
    for (int i = 0; i < count; ++i) {
      const int pos = seq.start_pos + i;
      s.tokens.push_back(seq.tokens[static_cast<std::size_t>(i)]);
      s.positions.push_back(pos);
      s.row_block.push_back(seq.block_table[static_cast<std::size_t>(pos / bs)]);
      s.row_chunk.push_back(chunk);
      if (seq.all_logits || (!seq.no_logits && i == count - 1)) s.logit_rows.push_back(row0 + i);
    }
  }
  return ok_status();
}

Status CudaBackend::lay_out(const std::vector<SharedPrefix>& shared) {
  Step& s = step_;
  if (attention_uses_tensor_cores(dtype_, config_.head_dim)) {
    s.plan = plan_attention(s.chunks, config_.num_heads, config_.num_kv_heads,
                            attention_target_ctas(sm_count_),
                            attention_decode_slots(sm_count_, config_.head_dim), shared);
    s.chunks.insert(s.chunks.end(), s.plan.extra_chunks.begin(), s.plan.extra_chunks.end());
    if (!shared.empty()) ++cascade_steps_;
  } else {
    s.plan = AttentionPlan{};
  }
  s.out_rows = static_cast<int>(s.logit_rows.size());
  s.bucket = 0;
  AGENTRT_TRY(upload_layout());
  const auto& p = s.plan;
  return reserve_buffers(s.tokens.size(), s.logit_rows.size(), p.partials16, p.partials_tall);
}

// Packs step_ into the pinned buffer and uploads it. The block tables go last, so that in
// the bucket layout (fixed-length arrays) every other array sits at a fixed offset.
Status CudaBackend::upload_layout() {
  Step& s = step_;
  Packer pk;
  const std::size_t o_tokens = pk.add(s.tokens), o_pos = pk.add(s.positions);
  const std::size_t o_block = pk.add(s.row_block), o_chunk = pk.add(s.row_chunk);
  const std::size_t o_logit = pk.add(s.logit_rows), o_chunks = pk.add(s.chunks);
  const std::size_t o_w16 = pk.add(s.plan.work16), o_w64 = pk.add(s.plan.work_tall);
  const std::size_t o_c16 = pk.add(s.plan.combine16), o_c64 = pk.add(s.plan.combine_tall);
  const std::size_t o_cascade = pk.add(s.plan.cascade);
  const std::size_t o_tables = pk.add(s.tables);
  // The previous step's upload must have left the pinned buffer before it is rewritten.
  AGENTRT_CUDA_TRY(cudaEventSynchronize(meta_copied_));
  AGENTRT_TRY(buf_.meta_host.reserve(pk.size()));
  AGENTRT_TRY(buf_.meta.reserve(pk.size(), stream_));
  pk.copy_to(buf_.meta_host.get<char>());
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(buf_.meta.get(), buf_.meta_host.get(), pk.size(),
                                   cudaMemcpyHostToDevice, stream_));
  AGENTRT_CUDA_TRY(cudaEventRecord(meta_copied_, stream_));
  const char* base = buf_.meta.get<const char>();
  auto at = [&](std::size_t off) { return base + off; };
  meta_.tokens = reinterpret_cast<const std::int32_t*>(at(o_tokens));
  meta_.positions = reinterpret_cast<const std::int32_t*>(at(o_pos));
  meta_.row_block = reinterpret_cast<const std::int32_t*>(at(o_block));
  meta_.row_chunk = reinterpret_cast<const std::int32_t*>(at(o_chunk));
  meta_.logit_rows = reinterpret_cast<const std::int32_t*>(at(o_logit));
  meta_.tables = reinterpret_cast<const std::int32_t*>(at(o_tables));
  meta_.chunks = reinterpret_cast<const AttnChunk*>(at(o_chunks));
  meta_.work16 = reinterpret_cast<const AttnWork*>(at(o_w16));
  meta_.work_tall = reinterpret_cast<const AttnWork*>(at(o_w64));
  meta_.combine16 = reinterpret_cast<const AttnCombine*>(at(o_c16));
  meta_.combine_tall = reinterpret_cast<const AttnCombine*>(at(o_c64));
  meta_.cascade = reinterpret_cast<const AttnCascade*>(at(o_cascade));
  return ok_status();
}

Status CudaBackend::reserve_buffers(std::size_t rows, std::size_t n, int partials16,
                                    int partials_tall) {
  const auto& c = config_;
  const std::size_t e = dtype_bytes(dtype_), h = c.hidden_size, hd = c.head_dim;
  const std::size_t q_width = c.num_heads * hd, width = q_width + 2 * c.num_kv_heads * hd;
  const std::size_t inter = c.intermediate_size;
  AGENTRT_TRY(buf_.x.reserve(rows * h * 4, stream_));
  AGENTRT_TRY(buf_.y.reserve(rows * h * 4, stream_));
  AGENTRT_TRY(buf_.h.reserve(rows * h * e, stream_));
  AGENTRT_TRY(buf_.qkv.reserve(rows * width * 4, stream_));
  AGENTRT_TRY(buf_.q.reserve(rows * q_width * e, stream_));
  AGENTRT_TRY(buf_.attn.reserve(rows * q_width * e, stream_));
  AGENTRT_TRY(buf_.gate_up.reserve(rows * 2 * inter * e, stream_));
  AGENTRT_TRY(buf_.act.reserve(rows * inter * e, stream_));
  AGENTRT_TRY(buf_.hl.reserve(n * h * e, stream_));
  AGENTRT_TRY(buf_.logits.reserve(n * static_cast<std::size_t>(c.vocab_size) * 4, stream_));
  AGENTRT_TRY(buf_.part_o16.reserve(static_cast<std::size_t>(partials16) * 16 * hd * 4, stream_));
  AGENTRT_TRY(buf_.part_lse16.reserve(static_cast<std::size_t>(partials16) * 16 * 4, stream_));
  AGENTRT_TRY(buf_.part_o_tall.reserve(static_cast<std::size_t>(partials_tall) * kTallRows * hd * 4,
                                       stream_));
  AGENTRT_TRY(
      buf_.part_lse_tall.reserve(static_cast<std::size_t>(partials_tall) * kTallRows * 4, stream_));
  return ok_status();
}

AttentionParams CudaBackend::attention_params(int layer) const {
  AttentionParams a;
  a.dtype = dtype_;
  a.q = buf_.q.get();
  a.out = buf_.attn.get();
  a.kv = {kv_pool_.get(),    geo_.num_blocks, geo_.num_layers,
          geo_.num_kv_heads, geo_.block_size, geo_.head_dim};
  a.layer = layer;
  a.num_heads = config_.num_heads;
  a.scale = 1.0f / std::sqrt(static_cast<float>(config_.head_dim));
  a.tables = meta_.tables;
  a.chunks = meta_.chunks;
  a.num_chunks = static_cast<int>(step_.chunks.size());
  a.row_chunk = meta_.row_chunk;
  a.positions = meta_.positions;
  a.rows = static_cast<int>(step_.tokens.size());
  const auto& p = step_.plan;
  a.work16 = meta_.work16;
  a.num_work16 = static_cast<int>(p.work16.size());
  a.work_tall = meta_.work_tall;
  a.num_work_tall = static_cast<int>(p.work_tall.size());
  a.combine16 = meta_.combine16;
  a.num_combine16 = static_cast<int>(p.combine16.size());
  a.combine_tall = meta_.combine_tall;
  a.num_combine_tall = static_cast<int>(p.combine_tall.size());
  a.cascade = meta_.cascade;
  a.num_cascade = static_cast<int>(p.cascade.size());
  a.partial_o16 = buf_.part_o16.get<float>();
  a.partial_lse16 = buf_.part_lse16.get<float>();
  a.partial_o_tall = buf_.part_o_tall.get<float>();
  a.partial_lse_tall = buf_.part_lse_tall.get<float>();
  return a;
}

bool CudaBackend::norms_in_gemms(int rows) const {
  if (rows != 1 || !gemm_->skinny() || dtype_ != Dtype::bf16) return false;
  if (norms_fusable_ < 0) norms_fusable_ = weights_take_fused_norms() ? 1 : 0;
  return norms_fusable_ == 1;
}

bool CudaBackend::residual_in_gemms() const {
  if (residual_in_gemms_ < 0) {
    residual_in_gemms_ = std::all_of(w_.layers.begin(), w_.layers.end(),
                                     [](const Layer& L) { return L.bo.bytes() == 0; });
  }
  return residual_in_gemms_ == 1;
}

bool CudaBackend::weights_take_fused_norms() const {
  if (!residual_in_gemms()) return false;  // an o_proj bias needs add_rmsnorm
  const int h = config_.hidden_size;
  for (const Layer& L : w_.layers) {
    if (!skinny_norm_fits(h, buf_.x.get<float>(), L.attn_norm.get<float>(), L.wqkv.get()) ||
        !skinny_norm_fits(h, buf_.x.get<float>(), L.ffn_norm.get<float>(), L.w_gate_up.get()) ||
        !skinny_gemm_fits(Dtype::bf16, 1, config_.num_heads * config_.head_dim,
                          config_.num_heads * config_.head_dim, buf_.attn.get(), L.wo.get()) ||
        !skinny_gemm_fits(Dtype::bf16, 1, config_.intermediate_size, config_.intermediate_size,
                          buf_.act.get(), L.w_down.get()))
      return false;
  }
  return true;
}

Status CudaBackend::run_qkv(int layer) {
  const auto& c = config_;
  const Layer& L = w_.layers[static_cast<std::size_t>(layer)];
  const int rows = static_cast<int>(step_.tokens.size());
  const int h = c.hidden_size, hd = c.head_dim, q_width = c.num_heads * hd;
  const int width = q_width + 2 * c.num_kv_heads * hd;
  const float eps = static_cast<float>(c.rms_norm_eps);
  const Dtype t = dtype_;
  // The skinny norm product writes q/k/v in f32; the other products in the model's dtype
  // (as transformers' projections do), which halves what q/k/v preparation reads.
  Dtype qkv_dtype = t;
  if (norms_in_gemms(rows)) {
    // x holds the residual already (the down GEMM before added into it): qkv = norm(x) . W.
    qkv_dtype = Dtype::f32;
    AGENTRT_CUDA_TRY(launch_skinny_norm_gemm(buf_.x.get<float>(), L.attn_norm.get<float>(), eps,
                                             L.wqkv.get(), buf_.qkv.get<float>(), 0.0f, width, h,
                                             stream_));
    AGENTRT_TRY(timer_.mark("gemm_norm_qkv", stream_));
  } else {
    // h = norm(x), after x += y (the previous layer's MLP output) unless the down GEMM
    // added it.
    AddNormParams n1{buf_.x.get<float>(),
                     layer == 0 || residual_in_gemms() ? nullptr : buf_.y.get<float>(),
                     nullptr,
                     L.attn_norm.get<float>(),
                     buf_.h.get(),
                     nullptr,
                     true,
                     rows,
                     h,
                     eps};
    AGENTRT_CUDA_TRY(launch_add_rmsnorm(t, n1, stream_));
    AGENTRT_TRY(timer_.mark("add_norm", stream_));
    AGENTRT_TRY(gemm_->run(
        {t, qkv_dtype, buf_.h.get(), L.wqkv.get(), buf_.qkv.get(), rows, width, h, 0, 0, 0.0f},
        stream_));
    AGENTRT_TRY(timer_.mark("gemm_qkv", stream_));
  }
  QkvParams qp;
  qp.qkv = buf_.qkv.get();
  qp.qkv_dtype = qkv_dtype;
  qp.bias = L.bqkv.get<float>();
  qp.q_norm = L.q_norm.get<float>();
  qp.k_norm = L.k_norm.get<float>();
  qp.inv_freq = w_.inv_freq.get<float>();
  qp.positions = meta_.positions;
  qp.blocks = meta_.row_block;
  qp.q_out = buf_.q.get();
  qp.kv = {kv_pool_.get(),    geo_.num_blocks, geo_.num_layers,
           geo_.num_kv_heads, geo_.block_size, geo_.head_dim};
  qp.layer = layer;
  qp.rows = rows;
  qp.num_heads = c.num_heads;
  qp.eps = eps;
  AGENTRT_CUDA_TRY(launch_qkv_prepare(t, qp, stream_));
  return timer_.mark("qkv_prepare", stream_);
}

Status CudaBackend::run_layer(int layer) {
  const Layer& L = w_.layers[static_cast<std::size_t>(layer)];
  const int q_width = config_.num_heads * config_.head_dim;
  AGENTRT_TRY(run_qkv(layer));
  AGENTRT_CUDA_TRY(launch_attention(attention_params(layer), stream_));
  AGENTRT_TRY(timer_.mark("attention", stream_));
  AGENTRT_TRY(run_output_gemm(buf_.attn.get(), L.wo.get(), q_width, "gemm_o", "gemm_o_add"));
  AGENTRT_TRY(run_swiglu_input(layer));
  return run_output_gemm(buf_.act.get(), L.w_down.get(), config_.intermediate_size, "gemm_down",
                         "gemm_down_add");
}

Status CudaBackend::run_swiglu_input(int layer) {
  const auto& c = config_;
  const Layer& L = w_.layers[static_cast<std::size_t>(layer)];
  const int rows = static_cast<int>(step_.tokens.size());
  const int h = c.hidden_size, inter = c.intermediate_size;
  const float eps = static_cast<float>(c.rms_norm_eps);
  const Dtype t = dtype_;
  if (norms_in_gemms(rows)) {
    // x holds the residual (the o product added into it): the product normalizes it.
    AGENTRT_CUDA_TRY(launch_skinny_norm_swiglu(buf_.x.get<float>(), L.ffn_norm.get<float>(), eps,
                                               L.w_gate_up.get(), buf_.act.get(), inter, h,
                                               stream_));
    return timer_.mark("gemm_norm_gate_up_swiglu", stream_);
  }
  AddNormParams n2{buf_.x.get<float>(),
                   residual_in_gemms() ? nullptr : buf_.y.get<float>(),
                   L.bo.get<float>(),
                   L.ffn_norm.get<float>(),
                   buf_.h.get(),
                   nullptr,
                   true,
                   rows,
                   h,
                   eps};
  AGENTRT_CUDA_TRY(launch_add_rmsnorm(t, n2, stream_));
  AGENTRT_TRY(timer_.mark("add_norm", stream_));
  const GemmArgs gate_up{
      t, t, buf_.h.get(), L.w_gate_up.get(), buf_.gate_up.get(), rows, 2 * inter, h, 0, 0, 0.0f};
  // Where the small-M kernel's SwiGLU form beats the product plus the SwiGLU kernel.
  auto small_m = gemm_->small_m_swiglu_splits(gate_up, buf_.act.get(), stream_);
  if (!small_m.ok()) return small_m.error();
  if (rows == 1 && gemm_->skinny() &&
      skinny_gemm_fits(t, 1, h, h, buf_.h.get(), L.w_gate_up.get())) {
    AGENTRT_CUDA_TRY(
        launch_skinny_swiglu(buf_.h.get(), L.w_gate_up.get(), buf_.act.get(), inter, h, stream_));
    return timer_.mark("gemm_gate_up_swiglu", stream_);
  }
  if (*small_m >= 0) {
    AGENTRT_CUDA_TRY(launch_small_m_swiglu(buf_.h.get(), h, L.w_gate_up.get(), buf_.act.get(), rows,
                                           inter, h, stream_, *small_m));
    return timer_.mark("gemm_gate_up_swiglu", stream_);
  }
  AGENTRT_TRY(gemm_->run(gate_up, stream_));
  AGENTRT_TRY(timer_.mark("gemm_gate_up", stream_));
  AGENTRT_CUDA_TRY(launch_swiglu(t, buf_.gate_up.get(), rows, inter, buf_.act.get(), stream_));
  return timer_.mark("swiglu", stream_);
}

Status CudaBackend::run_output_gemm(const void* a, const void* w, int k, const char* name,
                                    const char* name_add) {
  const int rows = static_cast<int>(step_.tokens.size());
  const bool residual = residual_in_gemms();
  GemmArgs g{dtype_,
             Dtype::f32,
             a,
             w,
             residual ? buf_.x.get() : buf_.y.get(),
             rows,
             config_.hidden_size,
             k,
             0,
             0,
             residual ? 1.0f : 0.0f};
  g.scratch = buf_.y.get();
  AGENTRT_TRY(gemm_->run(g, stream_));
  return timer_.mark(residual ? name_add : name, stream_);
}

Status CudaBackend::forward_device(const BatchPlan& plan) {
  return forward_step(plan, 0);
}

Status CudaBackend::forward_step(const BatchPlan& plan, int pending_rows) {
  AGENTRT_TRY(check_plan(plan, pending_rows));
  sampled_rows_ = 0;  // buf_.sampled is next written by this step's sampling, if any
  AGENTRT_TRY(lay_out_rows(plan));
  std::vector<SharedPrefix> shared;
  if (options_.cascade_decode && attention_uses_tensor_cores(dtype_, config_.head_dim)) {
    const int group = config_.num_heads / config_.num_kv_heads;
    shared = find_shared_prefixes(step_.chunks, step_.tables, geo_.block_size, group);
    const int slots = attention_tall_slots(sm_count_, config_.head_dim);
    for (SharedPrefix& sp : shared)
      sp.prefix_splits = cascade_prefix_splits(sp, group, config_.num_kv_heads, slots);
  }
  if (const int bucket = graph_bucket(plan); bucket > 0) {
    AGENTRT_TRY(lay_out_bucket(plan, bucket, shared));
    return run_bucket();
  }
  AGENTRT_TRY(lay_out(shared));
  return run_step();
}

// Enqueues the step laid out in step_ (no host synchronization: capturable).
Status CudaBackend::run_step() {
  const auto& c = config_;
  const int rows = static_cast<int>(step_.tokens.size());
  const int n = static_cast<int>(step_.logit_rows.size());
  AGENTRT_TRY(timer_.begin(stream_));
  AGENTRT_CUDA_TRY(launch_embed(dtype_, w_.embed.get(), meta_.tokens,
                                buf_.sampled.get<std::int32_t>(), rows, c.hidden_size,
                                buf_.x.get<float>(), stream_));
  AGENTRT_TRY(timer_.mark("embed", stream_));
  for (int layer = 0; layer < c.num_layers; ++layer)
    AGENTRT_TRY(run_layer(layer));
  // The last residual add and the final norm, only for the rows that need logits.
  AddNormParams fin{buf_.x.get<float>(),
                    residual_in_gemms() ? nullptr : buf_.y.get<float>(),
                    nullptr,
                    w_.final_norm.get<float>(),
                    buf_.hl.get(),
                    meta_.logit_rows,
                    false,
                    n,
                    c.hidden_size,
                    static_cast<float>(c.rms_norm_eps)};
  AGENTRT_CUDA_TRY(launch_add_rmsnorm(dtype_, fin, stream_));
  AGENTRT_TRY(timer_.mark("add_norm", stream_));
  AGENTRT_TRY(gemm_->run({dtype_, Dtype::f32, buf_.hl.get(), w_.lm_head_ptr(), buf_.logits.get(), n,
                          c.vocab_size, c.hidden_size, 0, 0, 0.0f},
                         stream_));
  return timer_.mark("gemm_logits", stream_);
}

Status CudaBackend::sample_device(std::span<const SampleParams> params,
                                  std::vector<std::int32_t>& tokens, std::vector<float>* logprobs,
                                  const DeviceTokenMasks& masks) {
  if (!launches_.empty()) {
    return make_error(
        ErrorCode::invalid_argument,
        "sample_device: " + std::to_string(launches_.size()) + " launched steps are not collected");
  }
  const int slot = next_slot_;
  AGENTRT_TRY(enqueue_sample(params, logprobs != nullptr, masks, slot));
  return take_sample(slot, params.size(), tokens, logprobs);
}

Status CudaBackend::reserve_sampled(std::size_t bytes) {
  if (bytes <= buf_.sampled.bytes()) return ok_status();
  DeviceBuffer grown;
  AGENTRT_TRY(grown.allocate(std::max(bytes, 2 * buf_.sampled.bytes())));
  if (buf_.sampled.bytes() > 0) {
    AGENTRT_CUDA_TRY(cudaMemcpyAsync(grown.get(), buf_.sampled.get(), buf_.sampled.bytes(),
                                     cudaMemcpyDeviceToDevice, stream_));
    AGENTRT_TRY(synchronize());  // the old buffer is read by the copy and queued steps
  }
  buf_.sampled = std::move(grown);
  return ok_status();
}

Status CudaBackend::enqueue_sample(std::span<const SampleParams> params, bool logprobs,
                                   const DeviceTokenMasks& masks, int slot) {
  const std::size_t n = static_cast<std::size_t>(step_.out_rows);
  if (params.size() != n) {
    return make_error(ErrorCode::invalid_argument,
                      "sample_device: " + std::to_string(params.size()) + " params for " +
                          std::to_string(n) + " logits rows");
  }
  const int words_per_row = (config_.vocab_size + 63) / 64;
  for (const auto& p : params) {
    if (p.mask >= masks.count || (p.mask >= 0 && masks.words_per_row != words_per_row)) {
      return make_error(ErrorCode::invalid_argument,
                        "sample_device: mask " + std::to_string(p.mask) + " of " +
                            std::to_string(masks.count) + " (" +
                            std::to_string(masks.words_per_row) + " words a mask, expected " +
                            std::to_string(words_per_row) + ")");
    }
  }
  const std::size_t mbytes = static_cast<std::size_t>(std::max(masks.count, 0)) *
                             static_cast<std::size_t>(words_per_row) * sizeof(std::uint64_t);
  const std::size_t pbytes = n * sizeof(SampleParams);
  const std::size_t back_bytes = n * 4 * (logprobs ? 2 : 1);
  // Pinned staging, [params | tokens and logprobs back | masks]: the uploads stay
  // asynchronous (a pageable source would hold the host until the stream reaches them).
  // The slot's previous sampling was collected: its copies are done.
  PinnedBuffer& host = buf_.sample_host[static_cast<std::size_t>(slot)];
  AGENTRT_TRY(host.reserve(pbytes + back_bytes + mbytes));
  AGENTRT_TRY(buf_.sample_params.reserve(pbytes, stream_));
  AGENTRT_TRY(reserve_sampled(back_bytes));
  std::memcpy(host.get(), params.data(), pbytes);
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(buf_.sample_params.get(), host.get(), pbytes,
                                   cudaMemcpyHostToDevice, stream_));
  if (mbytes > 0) {
    AGENTRT_TRY(buf_.sample_masks.reserve(mbytes, stream_));
    char* staged = host.get<char>() + pbytes + back_bytes;
    std::memcpy(staged, masks.words, mbytes);
    AGENTRT_CUDA_TRY(
        cudaMemcpyAsync(buf_.sample_masks.get(), staged, mbytes, cudaMemcpyHostToDevice, stream_));
  }
  // Tokens, then (when asked) logprobs, in one buffer: one copy back.
  auto* d_tokens = buf_.sampled.get<std::int32_t>();
  float* d_logprobs = logprobs ? reinterpret_cast<float*>(d_tokens + n) : nullptr;
  if (masks.count > 0) {
    AGENTRT_CUDA_TRY(
        launch_apply_token_masks(buf_.logits.get<float>(), static_cast<int>(n), config_.vocab_size,
                                 buf_.sample_params.get<SampleParams>(),
                                 buf_.sample_masks.get<std::uint64_t>(), words_per_row, stream_));
  }
  AGENTRT_CUDA_TRY(kernels::launch_sample(
      buf_.logits.get<float>(), static_cast<int>(n), config_.vocab_size,
      buf_.sample_params.get<SampleParams>(), d_tokens, d_logprobs, stream_));
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(host.get<char>() + pbytes, buf_.sampled.get(), back_bytes,
                                   cudaMemcpyDeviceToHost, stream_));
  AGENTRT_CUDA_TRY(cudaEventRecord(sampled_ready_[static_cast<std::size_t>(slot)], stream_));
  next_slot_ = 1 - slot;
  sampled_rows_ = static_cast<int>(n);
  return ok_status();
}

Status CudaBackend::take_sample(int slot, std::size_t rows, std::vector<std::int32_t>& tokens,
                                std::vector<float>* logprobs) {
  AGENTRT_CUDA_TRY(cudaEventSynchronize(sampled_ready_[static_cast<std::size_t>(slot)]));
  const char* back =
      buf_.sample_host[static_cast<std::size_t>(slot)].get<char>() + rows * sizeof(SampleParams);
  tokens.resize(rows);
  std::memcpy(tokens.data(), back, rows * 4);
  if (logprobs) {
    logprobs->resize(rows);
    std::memcpy(logprobs->data(), back + rows * 4, rows * 4);
  }
  return ok_status();
}

namespace {

// Forward_sample's and launch_sample's shared checks: one logits row per sequence.
Status check_sample_rows(const BatchPlan& plan, std::size_t params, const char* what) {
  std::size_t rows = 0;
  for (const auto& seq : plan.seqs) {
    if (seq.all_logits) {
      return make_error(ErrorCode::invalid_argument,
                        std::string(what) + ": a sequence asks for all its logits rows");
    }
    rows += seq.no_logits ? 0 : 1;
  }
  if (params == rows) return ok_status();
  return make_error(ErrorCode::invalid_argument, std::string(what) + ": " + std::to_string(params) +
                                                     " params for " + std::to_string(rows) +
                                                     " logits rows");
}

}  // namespace

Status CudaBackend::forward_sample(const BatchPlan& plan, std::span<const DeviceSampling> params,
                                   const DeviceTokenMasks& masks, bool want_logprobs,
                                   std::vector<DeviceSample>& out) {
  AGENTRT_TRY(check_sample_rows(plan, params.size(), "forward_sample"));
  if (!launches_.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "forward_sample: " + std::to_string(launches_.size()) +
                          " launched steps are not collected");
  }
  AGENTRT_TRY(forward_device(plan));
  if (masks.fill) masks.fill();  // on the host while the device runs the step
  std::vector<std::int32_t> tokens;
  std::vector<float> logprobs;
  AGENTRT_TRY(sample_device(params, tokens, want_logprobs ? &logprobs : nullptr, masks));
  out.resize(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i)
    out[i] = {tokens[i], want_logprobs ? logprobs[i] : 0.0f};
  device_samples_ += std::ssize(tokens);
  return ok_status();
}

Status CudaBackend::launch_sample(const BatchPlan& plan, std::span<const DeviceSampling> params,
                                  bool want_logprobs) {
  AGENTRT_TRY(check_sample_rows(plan, params.size(), "launch_sample"));
  if (launches_.size() >= 2) {
    return make_error(ErrorCode::invalid_argument,
                      "launch_sample: two launched steps are not collected");
  }
  // The sampled ids must stay where the embedding reads them: grown before the step.
  AGENTRT_TRY(reserve_sampled(params.size() * 4 * (want_logprobs ? 2 : 1)));
  AGENTRT_TRY(forward_step(plan, sampled_rows_));
  const int slot = next_slot_;
  AGENTRT_TRY(enqueue_sample(params, want_logprobs, {}, slot));
  launches_.push_back({slot, params.size(), want_logprobs});
  device_samples_ += std::ssize(params);
  return ok_status();
}

Status CudaBackend::collect_sample(std::vector<DeviceSample>& out) {
  if (launches_.empty())
    return make_error(ErrorCode::invalid_argument, "collect_sample: no launched step");
  const Launch l = launches_.front();
  launches_.erase(launches_.begin());
  std::vector<std::int32_t> tokens;
  std::vector<float> logprobs;
  AGENTRT_TRY(take_sample(l.slot, l.rows, tokens, l.logprobs ? &logprobs : nullptr));
  out.resize(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i)
    out[i] = {tokens[i], l.logprobs ? logprobs[i] : 0.0f};
  return ok_status();
}

Status CudaBackend::forward(const BatchPlan& plan, Logits& out) {
  AGENTRT_TRY(forward_device(plan));
  const std::size_t n = static_cast<std::size_t>(step_.out_rows), vocab = config_.vocab_size;
  const std::size_t bytes = n * vocab * 4;
  AGENTRT_TRY(buf_.logits_host.reserve(bytes));
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(buf_.logits_host.get(), buf_.logits.get(), bytes,
                                   cudaMemcpyDeviceToHost, stream_));
  AGENTRT_TRY(synchronize());
  out.rows = static_cast<int>(n);
  out.vocab = config_.vocab_size;
  out.data.resize(n * vocab);
  std::memcpy(out.data.data(), buf_.logits_host.get(), bytes);
  return ok_status();
}

}  // namespace agentrt::kernels
