#include "kernels/device_anchor_pool.h"

#include <algorithm>

#include "kernels/anchor_kernels.h"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"
#include "kernels/gemm.h"
#include "kernels/segment_kv.h"

namespace agentrt::kernels {

std::unique_ptr<DeviceAnchorPool> DeviceAnchorPool::create(CudaBackend& backend, int probe_layer,
                                                           const kv::AnchorOptions& options) {
  const int span = backend.kv_geometry().num_layers - probe_layer;
  if (span < 2 || options.neighbours < 1 || options.neighbours > kMaxAnchorNeighbours)
    return nullptr;
  // At most half the device memory free now (the KV pool has taken its share), whatever the
  // caps say, so that the first record's allocation does not fail a step.
  kv::AnchorOptions o = options;
  std::size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess)
    o.capacity_bytes = std::min(o.capacity_bytes, free_bytes / 2);
  return std::unique_ptr<DeviceAnchorPool>(
      new DeviceAnchorPool(backend, probe_layer, span, backend.token_offset_floats(1), o));
}

std::size_t DeviceAnchorPool::token_bytes(int span, std::size_t dim, bool exact) {
  const auto deep = static_cast<std::size_t>(span - 1) * dim;
  return (dim + 1 + deep + span - 1) * sizeof(float) +
         deep * (exact ? sizeof(float) : sizeof(std::uint16_t));
}

DeviceAnchorPool::DeviceAnchorPool(CudaBackend& backend, int probe_layer, int span, std::size_t dim,
                                   const kv::AnchorOptions& options)
    : be_(backend),
      probe_(probe_layer),
      span_(span),
      dim_(dim),
      // With exact_math the host pool's accounting, so that both evict alike.
      book_(span, dim, options, options.exact_math ? 0 : token_bytes(span, dim, false)),
      offsets_dt_(options.exact_math ? Dtype::f32 : Dtype::bf16) {
  // The book's caps bound the rows held (evict_for keeps tokens and bytes within them).
  cap_ = std::min(options.max_tokens, options.capacity_bytes / book_.token_bytes());
}

int DeviceAnchorPool::columns() const {
  return static_cast<int>(std::min(cap_, (held_ + 63) / 64 * 64));
}

Status DeviceAnchorPool::allocate() {
  if (first_.bytes() != 0) return ok_status();
  const std::size_t deep = static_cast<std::size_t>(span_ - 1) * cap_;  // rows of later layers
  const std::pair<DeviceBuffer*, std::size_t> buffers[] = {
      {&probe_off_, cap_ * dim_ * sizeof(float)},
      {&probe_norms_, cap_ * sizeof(float)},
      {&first_, deep * dim_ * sizeof(float)},
      {&first_norms_, deep * sizeof(float)},
      {&offsets_, deep * dim_ * dtype_bytes(offsets_dt_)}};
  for (const auto& [b, bytes] : buffers) {
    AGENTRT_TRY(b->allocate(bytes));
    AGENTRT_CUDA_TRY(cudaMemsetAsync(b->get(), 0, b->bytes(), be_.stream_));
  }
  return ok_status();
}

Result<const void*> DeviceAnchorPool::stage(const SegmentPlacement& p) {
  const void* tokens = p.segment_id != 0 ? be_.seg_cache_.find(p.segment_id, p.kv.size()) : nullptr;
  if (tokens == nullptr && !p.kv.empty()) {
    AGENTRT_TRY(staged_.reserve(p.kv.size()));
    // From pageable memory the call returns once `p.kv` has been read.
    AGENTRT_CUDA_TRY(cudaMemcpyAsync(staged_.get(), p.kv.data(), p.kv.size(),
                                     cudaMemcpyHostToDevice, be_.stream_));
    tokens = staged_.get();
  }
  AGENTRT_TRY(be_.upload_token_table(p.block_table));
  return tokens;
}

Status DeviceAnchorPool::drop_oldest(std::size_t old) {
  if (old == 0) return ok_status();
  // `row` bytes a row, `layers` layers of cap_ rows.
  const auto move = [&](DeviceBuffer& b, std::size_t row, int layers) -> Status {
    auto* base = static_cast<std::byte*>(b.get());
    const std::size_t pitch = cap_ * row;
    // Chunks of `old` rows: each source range is disjoint from its destination.
    for (std::size_t r = old; r < held_; r += old) {
      const std::size_t rows = std::min(old, held_ - r);
      AGENTRT_CUDA_TRY(cudaMemcpy2DAsync(base + (r - old) * row, pitch, base + r * row, pitch,
                                         rows * row, static_cast<std::size_t>(layers),
                                         cudaMemcpyDeviceToDevice, be_.stream_));
    }
    return ok_status();
  };
  AGENTRT_TRY(move(probe_off_, dim_ * sizeof(float), 1));
  AGENTRT_TRY(move(probe_norms_, sizeof(float), 1));
  AGENTRT_TRY(move(first_, dim_ * sizeof(float), span_ - 1));
  AGENTRT_TRY(move(first_norms_, sizeof(float), span_ - 1));
  AGENTRT_TRY(move(offsets_, dim_ * dtype_bytes(offsets_dt_), span_ - 1));
  held_ -= old;
  return ok_status();
}

Status DeviceAnchorPool::record(const SegmentPlacement& p) {
  auto counted = be_.check_token_bytes("anchors", p.block_table, p.begin, p.kv.size());
  if (!counted.ok()) return counted.error();
  const auto n = static_cast<std::size_t>(*counted);
  if (n == 0 || !book_.fits(n)) return ok_status();
  AGENTRT_TRY(allocate());
  auto staged = stage(p);
  if (!staged.ok()) return staged.error();
  const std::size_t floats = n * static_cast<std::size_t>(span_) * dim_;
  AGENTRT_TRY(un_.reserve(floats * sizeof(float)));
  AGENTRT_TRY(off_.reserve(floats * sizeof(float)));
  TokenKvOffsetParams o;
  o.inv_freq = be_.w_.inv_freq.get<float>();
  o.first_layer = probe_;
  o.last_layer = probe_ + span_;
  o.source_begin = p.source_begin;
  o.offsets = off_.get<float>();
  o.unrotated = un_.get<float>();
  o.tokens_all_layers = true;
  const TokenKvParams tp = be_.token_params(p.begin, *counted, const_cast<void*>(*staged));
  AGENTRT_CUDA_TRY(launch_token_kv_offsets(be_.dtype_, tp, o, be_.stream_));
  AGENTRT_TRY(drop_oldest(book_.evict_for(n)));
  AnchorRows rows;
  rows.n = static_cast<int>(n);
  rows.src_layers = span_;
  rows.dim = static_cast<int>(dim_);
  rows.cap = static_cast<int>(cap_);
  rows.row0 = static_cast<int>(held_);
  const auto append = [&](const DeviceBuffer& src, int first, int layers, Dtype dt,
                          DeviceBuffer& dst, DeviceBuffer* norms) {
    rows.src = src.get<float>();
    rows.first = first;
    rows.layers = layers;
    rows.dtype = dt;
    rows.dst = dst.get();
    rows.norms = norms != nullptr ? norms->get<float>() : nullptr;
    return launch_append_anchor_rows(rows, be_.stream_);
  };
  AGENTRT_CUDA_TRY(append(off_, 0, 1, Dtype::f32, probe_off_, &probe_norms_));
  AGENTRT_CUDA_TRY(append(un_, 1, span_ - 1, Dtype::f32, first_, &first_norms_));
  AGENTRT_CUDA_TRY(append(off_, 1, span_ - 1, offsets_dt_, offsets_, nullptr));
  held_ += n;
  book_.added(n);
  ++generation_;
  return ok_status();
}

Result<kv::AnchorPrediction> DeviceAnchorPool::predict(const SegmentPlacement& p) {
  auto counted = be_.check_token_bytes("anchors", p.block_table, p.begin, p.kv.size());
  if (!counted.ok()) return counted.error();
  const auto n = static_cast<std::size_t>(*counted);
  if (const auto early = book_.before_probe(n)) return *early;
  auto staged = stage(p);
  if (!staged.ok()) return staged.error();
  const int cols = columns(), rows = static_cast<int>(n), d = static_cast<int>(dim_);
  const std::size_t deep = static_cast<std::size_t>(span_ - 1) * dim_;  // floats a token
  AGENTRT_TRY(off_.reserve(n * dim_ * sizeof(float)));
  AGENTRT_TRY(un_.reserve(n * deep * sizeof(float)));
  AGENTRT_TRY(probe_d_.reserve(n * static_cast<std::size_t>(cols) * sizeof(float)));
  AGENTRT_TRY(probe_xn_.reserve(n * sizeof(float)));
  AGENTRT_TRY(mins_.reserve(n * sizeof(float)));
  cudaStream_t stream = be_.stream_;
  KernelTimer& timer = be_.timer_;  // benchmarks: device time by part (off: no-ops)
  AGENTRT_TRY(timer.begin(stream));
  const TokenKvParams tp = be_.token_params(p.begin, *counted, const_cast<void*>(*staged));
  // The probe layer's offsets (exact: the probe computed it in this context), and the
  // first-context KV of the layers after it.
  TokenKvOffsetParams o;
  o.inv_freq = be_.w_.inv_freq.get<float>();
  o.first_layer = probe_;
  o.last_layer = probe_ + 1;
  o.source_begin = p.source_begin;
  o.offsets = off_.get<float>();
  o.tokens_all_layers = true;
  AGENTRT_CUDA_TRY(launch_token_kv_offsets(be_.dtype_, tp, o, stream));
  // The KV term depends on the segment and the pool only: placements of one segment (agents
  // reading the same document in one step) share its products while they fit kKvTermBytes.
  const std::size_t layer_floats = n * static_cast<std::size_t>(cols);
  const bool keep =
      p.segment_id != 0 &&
      layer_floats * static_cast<std::size_t>(span_ - 1) * sizeof(float) <= kKvTermBytes;
  const KvTermKey key{p.segment_id, generation_, n, cols};
  const bool reuse = keep && kv_term_ == key;
  if (!reuse) {
    o.first_layer = probe_ + 1;
    o.last_layer = probe_ + span_;
    o.offsets = nullptr;
    o.unrotated = un_.get<float>();
    AGENTRT_CUDA_TRY(launch_token_kv_offsets(be_.dtype_, tp, o, stream));
  }
  AGENTRT_TRY(timer.mark("anchor_offsets", stream));
  // The probe term and the novelty.
  const int m = static_cast<int>(held_);
  AGENTRT_CUDA_TRY(
      launch_row_norms(off_.get<float>(), rows, d, dim_, probe_xn_.get<float>(), stream));
  GemmArgs g;
  g.in = g.out = Dtype::f32;
  g.a = off_.get();
  g.w = probe_off_.get();
  g.c = probe_d_.get();
  g.m = rows;
  g.n = cols;
  g.k = d;
  g.tf32 = !book_.options().exact_math;
  AGENTRT_TRY(be_.gemm_->run(g, stream));
  AGENTRT_TRY(timer.mark("anchor_probe_gemm", stream));
  AGENTRT_CUDA_TRY(launch_probe_distances(probe_d_.get<float>(), rows, m, cols,
                                          probe_xn_.get<float>(), probe_norms_.get<float>(),
                                          mins_.get<float>(), stream));
  host_mins_.resize(n);
  host_norms_.resize(n);
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(host_mins_.data(), mins_.get(), n * sizeof(float),
                                   cudaMemcpyDeviceToHost, stream));
  AGENTRT_CUDA_TRY(cudaMemcpyAsync(host_norms_.data(), probe_xn_.get(), n * sizeof(float),
                                   cudaMemcpyDeviceToHost, stream));
  AGENTRT_TRY(timer.mark("anchor_novelty", stream));
  AGENTRT_TRY(be_.synchronize());
  double nearest = 0.0, size = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    nearest += host_mins_[i];
    size += host_norms_[i];
  }
  const auto what = book_.after_probe(size > 0.0 ? nearest / size : 0.0, n);
  if (what != kv::AnchorPrediction::predicted) return what;
  // Each deeper layer: the k nearest anchor tokens by both terms, their mean offset added to
  // the KV; in one launch over every layer when the KV term's products are all kept.
  kv_term_ = {};
  AGENTRT_TRY(dot_.reserve((keep ? span_ - 1 : 1) * layer_floats * sizeof(float)));
  AGENTRT_TRY(xn_.reserve((keep ? span_ - 1 : 1) * n * sizeof(float)));
  NearestMeanParams nm;
  nm.probe = probe_d_.get<float>();
  nm.n = rows;
  nm.m = m;
  nm.ld = cols;
  nm.k = std::min(book_.options().neighbours, m);
  nm.inv_freq = be_.w_.inv_freq.get<float>();
  nm.dot_layer = layer_floats;
  nm.xn_layer = n;
  nm.yn_layer = cap_;
  nm.offsets_layer = cap_ * dim_;
  nm.offsets_dtype = offsets_dt_;
  const TokenKvParams at = be_.token_params(p.begin, *counted, nullptr);
  // Layers [first, first + count) of the anchors' span, their products at slot 0 on.
  auto predict_layers = [&](int first, int count) -> Status {
    nm.dot = dot_.get<float>();
    nm.xn = xn_.get<float>();
    const auto before = static_cast<std::size_t>(first - 1) * cap_;  // rows before layer `first`
    nm.yn = first_norms_.get<float>() + before;
    nm.offsets =
        static_cast<const std::byte*>(offsets_.get()) + before * dim_ * dtype_bytes(offsets_dt_);
    nm.first_layer = probe_ + first;
    nm.layers = count;
    AGENTRT_CUDA_TRY(launch_nearest_mean_add(be_.dtype_, nm, at, stream));
    return timer.mark("anchor_nearest_add", stream);
  };
  // The KV term of layers [first, first + count): row norms and products, at slot 0 on.
  g.lda = static_cast<int>(deep);
  auto kv_term = [&](int first, int count) -> Status {
    const float* x = un_.get<float>() + static_cast<std::size_t>(first - 1) * dim_;
    AGENTRT_CUDA_TRY(launch_row_norms(x, rows, d, deep, xn_.get<float>(), stream, count, dim_, n));
    g.a = x;
    g.w = first_.get<float>() + static_cast<std::size_t>(first - 1) * cap_ * dim_;
    g.c = dot_.get();
    g.batch = count;
    g.stride_a = static_cast<std::int64_t>(dim_);
    g.stride_w = static_cast<std::int64_t>(cap_ * dim_);
    g.stride_c = static_cast<std::int64_t>(layer_floats);
    AGENTRT_TRY(be_.gemm_->run(g, stream));
    return timer.mark("anchor_kv_gemm", stream);
  };
  if (keep) {  // every layer at once
    if (!reuse) AGENTRT_TRY(kv_term(1, span_ - 1));
    AGENTRT_TRY(predict_layers(1, span_ - 1));
    kv_term_ = key;
  } else {
    for (int l = 1; l < span_; ++l) {
      AGENTRT_TRY(kv_term(l, 1));
      AGENTRT_TRY(predict_layers(l, 1));
    }
  }
  return what;
}

}  // namespace agentrt::kernels
