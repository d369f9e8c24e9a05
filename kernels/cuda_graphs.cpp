// Decode steps through CUDA graphs. A decode-only step (one token per sequence) is padded to
// a batch bucket and laid out at fixed offsets with a fixed-shape attention plan, so every
// launch of the step (grid sizes, pointers, scalar arguments) depends on the bucket alone;
// only the uploaded contents (tokens, positions, block tables, key ranges) change. The
// first step of a bucket runs eagerly (which also tunes its GEMMs) and is then captured;
// later ones upload their layout and replay the graph. Padding rows attend to, and write,
// one spare KV block past the pool's num_blocks.
#include <algorithm>
#include <array>

#include "kernels/cuda_backend.h"

namespace agentrt::kernels {
namespace {

constexpr std::array<int, 14> kBuckets = {1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 160, 192, 224, 256};
static_assert(kBuckets.back() == CudaBackend::kMaxGraphBatch);

template <class T>
void pad(std::vector<T>& v, std::size_t n, const T& value) {
  v.resize(n, value);
}

}  // namespace

int CudaBackend::graph_bucket(const BatchPlan& plan) const {
  if (!options_.decode_graphs || !attention_uses_tensor_cores(dtype_, config_.head_dim)) return 0;
  if (config_.num_heads / config_.num_kv_heads > 16) return 0;  // one 16-row tile per kv head
  const int n = static_cast<int>(plan.seqs.size());
  if (n > kMaxGraphBatch) return 0;
  for (const auto& seq : plan.seqs)
    if (seq.tokens.size() != 1 || seq.all_logits || seq.no_logits) return 0;
  return *std::lower_bound(kBuckets.begin(), kBuckets.end(), n);
}

Status CudaBackend::lay_out_bucket(const BatchPlan& plan, int bucket,
                                   const std::vector<SharedPrefix>& shared) {
  Step& s = step_;
  const int n = static_cast<int>(plan.seqs.size());
  const std::int32_t spare = geo_.num_blocks;  // allocated when decode_graphs is on
  const auto pad_table = static_cast<std::int32_t>(s.tables.size());
  s.tables.push_back(spare);
  const auto b = static_cast<std::size_t>(bucket);
  pad(s.tokens, b, 0);
  pad(s.positions, b, 0);
  pad(s.row_block, b, spare);
  for (int r = n; r < bucket; ++r) {
    s.row_chunk.push_back(r);
    s.logit_rows.push_back(r);
    s.chunks.push_back({r, 1, 0, pad_table});
  }
  // Split count as plan_attention picks it for decodes; each count gets its own graph.
  const int target = attention_target_ctas(sm_count_);
  const int slots = attention_decode_slots(sm_count_, config_.head_dim);
  const int tiles = bucket * config_.num_kv_heads;
  int longest = 1;
  for (const auto& seq : plan.seqs)
    longest = std::max(longest, seq.start_pos + 1);
  const int splits = slots > 0 && tiles < slots
                         ? decode_wave_splits(tiles, longest, slots)
                         : fixed_splits(bucket, config_.num_kv_heads, target);
  s.plan = plan_attention_fixed(s.chunks, config_.num_kv_heads, splits, shared, config_.num_heads,
                                target);
  s.chunks.insert(s.chunks.end(), s.plan.extra_chunks.begin(), s.plan.extra_chunks.end());
  if (!shared.empty()) ++cascade_steps_;
  s.out_rows = n;
  s.bucket = bucket;
  // Every launch's shape follows from the bucket and the lists' sizes (which also fix the
  // arrays' offsets in the uploaded layout).
  const auto size = [](const auto& v) { return static_cast<int>(v.size()); };
  const AttentionPlan& p = s.plan;
  s.graph_key = {bucket,
                 size(p.work16),
                 size(p.work_tall),
                 size(p.combine16),
                 size(p.combine_tall),
                 size(p.cascade),
                 size(p.extra_chunks)};
  auto partials = reserve_graph_meta(slots);
  if (!partials.ok()) return partials.error();
  AGENTRT_TRY(upload_layout());
  return reserve_buffers(kMaxGraphBatch, kMaxGraphBatch, std::max(*partials, s.plan.partials16),
                         s.plan.partials_tall);
}

// Reserves the metadata for the largest bucket once, so the graphs' pointers stay put (its
// tables at most a full context per row); returns the split partials the largest fixed
// plan needs, for the activations' reservation.
Result<int> CudaBackend::reserve_graph_meta(int slots) {
  const int target = attention_target_ctas(sm_count_);
  int partials = 0;
  std::size_t plan_bytes = 0;
  for (int k : kBuckets) {
    const int ks = fixed_splits(k, config_.num_kv_heads, target);
    const std::size_t kt = static_cast<std::size_t>(k) * config_.num_kv_heads;
    partials = std::max(partials, ks > 1 ? static_cast<int>(kt) * ks : 0);
    plan_bytes =
        std::max(plan_bytes, kt * ks * sizeof(AttnWork) + (ks > 1 ? kt * sizeof(AttnCombine) : 0));
  }
  // The wave rule: fewer tiles than slots, at most 32 splits each.
  plan_bytes = std::max(plan_bytes, static_cast<std::size_t>(std::max(slots, 0)) *
                                        (32 * sizeof(AttnWork) + sizeof(AttnCombine)));
  const std::size_t max_blocks =
      static_cast<std::size_t>(config_.max_context() / geo_.block_size) + 2;
  const std::size_t rows_bytes = kMaxGraphBatch * (5 * sizeof(std::int32_t) + sizeof(AttnChunk));
  AGENTRT_TRY(buf_.meta.reserve(
      16 * 16 + rows_bytes + plan_bytes + (kMaxGraphBatch * max_blocks + 1) * sizeof(std::int32_t),
      stream_));
  return partials;
}

std::vector<const void*> CudaBackend::buffer_signature() const {
  return {buf_.meta.get(),       buf_.x.get(),           buf_.y.get(),
          buf_.h.get(),          buf_.qkv.get(),         buf_.q.get(),
          buf_.attn.get(),       buf_.gate_up.get(),     buf_.act.get(),
          buf_.hl.get(),         buf_.logits.get(),      buf_.part_o16.get(),
          buf_.part_lse16.get(), buf_.part_o_tall.get(), buf_.part_lse_tall.get(),
          buf_.sampled.get(),    kv_pool_.get()};
}

void CudaBackend::drop_graphs() {
  for (auto& [bucket, exec] : graphs_)
    cudaGraphExecDestroy(exec);
  graphs_.clear();
}

Status CudaBackend::run_bucket() {
  // A buffer that grew since the capture (a longer prefill step) moved: capture again.
  std::vector<const void*> sig = buffer_signature();
  if (sig != graph_signature_) {
    drop_graphs();
    graph_signature_ = std::move(sig);
  }
  const auto it = graphs_.find(step_.graph_key);
  if (graph_replay_ && it != graphs_.end()) {
    ++graph_replays_;
    return cuda_status(cudaGraphLaunch(it->second, stream_), "cuda backend: graph launch");
  }
  AGENTRT_TRY(run_step());  // eager; the first run of a shape also tunes its GEMMs
  if (!graph_replay_) return ok_status();
  cudaGraph_t graph = nullptr;
  const bool timing = timer_.enabled();
  timer_.set_enabled(false);  // events are not timed inside a graph
  AGENTRT_CUDA_TRY(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  const Status st = run_step();
  timer_.set_enabled(timing);
  const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
  if (!st.ok()) {
    if (graph) cudaGraphDestroy(graph);
    return st;
  }
  AGENTRT_TRY(cuda_status(end, "cuda backend: graph capture"));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  AGENTRT_TRY(cuda_status(inst, "cuda backend: graph instantiate"));
  graphs_[step_.graph_key] = exec;
  return ok_status();
}

}  // namespace agentrt::kernels
