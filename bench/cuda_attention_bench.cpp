// Ceilings and the decode-attention kernel benchmark (see cuda_bench_util.h).
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>

#include "bench/cuda_bench_util.h"
#include "kernels/attention.h"
#include "kernels/device_buffer.h"
#include "kernels/gemm.h"
#include "kernels/ops.h"

namespace agentrt::bench {

using kernels::DeviceBuffer;
using kernels::Dtype;

namespace {

DeviceBuffer alloc(std::size_t bytes) {
  DeviceBuffer b;
  Status st = b.allocate(bytes);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.error().to_string().c_str());
    std::exit(1);
  }
  return b;
}

template <class T>
DeviceBuffer upload(const std::vector<T>& v) {
  DeviceBuffer b = alloc(std::max<std::size_t>(16, v.size() * sizeof(T)));
  cuda_check(cudaMemcpy(b.get(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice), "upload");
  return b;
}

}  // namespace

double measure_copy_gbps(std::size_t bytes, cudaStream_t stream) {
  DeviceBuffer a = alloc(bytes), b = alloc(bytes);
  cuda_check(kernels::launch_fill_random(Dtype::bf16, a.get(), bytes / 2, 1, 1.0f, stream), "fill");
  const double ms = median_ms(stream, 3, 10, [&] {
    cuda_check(cudaMemcpyAsync(b.get(), a.get(), bytes, cudaMemcpyDeviceToDevice, stream), "copy");
  });
  return 2.0 * static_cast<double>(bytes) / (ms * 1e-3) / 1e9;
}

double measure_gemm_tflops(int n, cudaStream_t stream) {
  const std::size_t elems = static_cast<std::size_t>(n) * n;
  DeviceBuffer a = alloc(elems * 2), w = alloc(elems * 2), c = alloc(elems * 2);
  cuda_check(kernels::launch_fill_random(Dtype::bf16, a.get(), elems, 2, 1.0f, stream), "fill");
  cuda_check(kernels::launch_fill_random(Dtype::bf16, w.get(), elems, 3, 1.0f, stream), "fill");
  auto gemm = kernels::Gemm::create();
  if (!gemm.ok()) std::exit(1);
  const double ms = median_ms(stream, 3, 10, [&] {
    Status st = (*gemm)->run(
        {Dtype::bf16, Dtype::bf16, a.get(), w.get(), c.get(), n, n, n, 0, 0, 0.0f}, stream);
    if (!st.ok()) std::exit(1);
  });
  return 2.0 * n * static_cast<double>(n) * n / (ms * 1e-3) / 1e12;
}

namespace {

// Median ms of one layer's attention under `plan` over a pool of `blocks` random bf16
// blocks (one query token per chunk).
double time_plan(int heads, int kv_heads, int d, const std::vector<kernels::AttnChunk>& chunks,
                 const std::vector<std::int32_t>& tables, int blocks,
                 const kernels::AttentionPlan& plan, cudaStream_t stream) {
  const int bs = 16, batch = static_cast<int>(chunks.size());
  std::vector<std::int32_t> positions, row_chunk;
  for (int s = 0; s < batch; ++s) {
    positions.push_back(chunks[static_cast<std::size_t>(s)].start_pos);
    row_chunk.push_back(s);
  }
  std::vector<kernels::AttnChunk> all = chunks;
  all.insert(all.end(), plan.extra_chunks.begin(), plan.extra_chunks.end());
  const std::size_t pool_elems = static_cast<std::size_t>(blocks) * 2 * kv_heads * bs * d;
  DeviceBuffer pool = alloc(pool_elems * 2);
  DeviceBuffer q = alloc(static_cast<std::size_t>(batch) * heads * d * 2), out = alloc(q.bytes());
  cuda_check(kernels::launch_fill_random(Dtype::bf16, pool.get(), pool_elems, 4, 1.0f, stream),
             "f");
  cuda_check(kernels::launch_fill_random(Dtype::bf16, q.get(), q.bytes() / 2, 5, 1.0f, stream),
             "f");
  auto d_tables = upload(tables), d_chunks = upload(all), d_pos = upload(positions);
  auto d_rc = upload(row_chunk), d_w16 = upload(plan.work16), d_c16 = upload(plan.combine16);
  auto d_wt = upload(plan.work_tall), d_ct = upload(plan.combine_tall);
  auto d_cascade = upload(plan.cascade);
  DeviceBuffer po = alloc(std::max(1, plan.partials16) * 16 * d * 4);
  DeviceBuffer pl = alloc(std::max(1, plan.partials16) * 16 * 4);
  DeviceBuffer pot = alloc(std::max(1, plan.partials_tall) * kernels::kTallRows * d * 4);
  DeviceBuffer plt = alloc(std::max(1, plan.partials_tall) * kernels::kTallRows * 4);
  kernels::AttentionParams p;
  p.dtype = Dtype::bf16;
  p.q = q.get();
  p.out = out.get();
  p.kv = {pool.get(), blocks, 1, kv_heads, bs, d};
  p.num_heads = heads;
  p.scale = 1.0f / std::sqrt(static_cast<float>(d));
  p.tables = d_tables.get<std::int32_t>();
  p.chunks = d_chunks.get<kernels::AttnChunk>();
  p.num_chunks = static_cast<int>(all.size());
  p.row_chunk = d_rc.get<std::int32_t>();
  p.positions = d_pos.get<std::int32_t>();
  p.rows = batch;
  p.work16 = d_w16.get<kernels::AttnWork>();
  p.num_work16 = static_cast<int>(plan.work16.size());
  p.combine16 = d_c16.get<kernels::AttnCombine>();
  p.num_combine16 = static_cast<int>(plan.combine16.size());
  p.work_tall = d_wt.get<kernels::AttnWork>();
  p.num_work_tall = static_cast<int>(plan.work_tall.size());
  p.combine_tall = d_ct.get<kernels::AttnCombine>();
  p.num_combine_tall = static_cast<int>(plan.combine_tall.size());
  p.cascade = d_cascade.get<kernels::AttnCascade>();
  p.num_cascade = static_cast<int>(plan.cascade.size());
  p.partial_o16 = po.get<float>();
  p.partial_lse16 = pl.get<float>();
  p.partial_o_tall = pot.get<float>();
  p.partial_lse_tall = plt.get<float>();
  return median_ms(stream, 3, 20,
                   [&] { cuda_check(kernels::launch_attention(p, stream), "attention"); });
}

int sm_count() {
  int sms = 0;
  cuda_check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), "attr");
  return sms;
}

}  // namespace

// One layer's decode attention: `batch` sequences of `context` keys, one query token each.
AttentionRow run_decode(const char* shape, int heads, int kv_heads, int d, int batch, int context,
                        bool wave_splits, double copy_gbps, cudaStream_t stream) {
  const int bs = 16, per_seq = (context + bs - 1) / bs, blocks = batch * per_seq;
  std::vector<kernels::AttnChunk> chunks;
  std::vector<std::int32_t> tables(static_cast<std::size_t>(blocks));
  std::iota(tables.begin(), tables.end(), 0);
  std::shuffle(tables.begin(), tables.end(), std::mt19937(1));  // scattered, as a real pool
  for (int s = 0; s < batch; ++s)
    chunks.push_back({s, 1, context - 1, s * per_seq});
  const int sms = sm_count();
  const kernels::AttentionPlan plan =
      kernels::plan_attention(chunks, heads, kv_heads, kernels::attention_target_ctas(sms),
                              wave_splits ? kernels::attention_decode_slots(sms, d) : 0);
  const double ms = time_plan(heads, kv_heads, d, chunks, tables, blocks, plan, stream);
  const double bytes =
      static_cast<double>(batch) * context * kv_heads * d * 2 * 2 + 2.0 * batch * heads * d * 2;
  const double gbps = bytes / (ms * 1e-3) / 1e9;
  return {shape, heads,   kv_heads,        d,
          batch, context, wave_splits,     static_cast<int>(plan.work16.size()),
          ms,    gbps,    gbps / copy_gbps};
}

CascadeAttentionRow bench_cascade_attention(const char* shape, int heads, int kv_heads, int d,
                                            int samples, int prompt, int generated,
                                            cudaStream_t stream) {
  const int bs = 16, ctx = prompt + generated, per_seq = (ctx + bs - 1) / bs;
  const int shared = prompt / bs, own = per_seq - shared;
  const int sms = sm_count(), target = kernels::attention_target_ctas(sms);
  const int slots = kernels::attention_decode_slots(sms, d);
  std::vector<kernels::AttnChunk> chunks;
  std::vector<std::int32_t> independent, forked;
  for (int s = 0; s < samples; ++s) {
    chunks.push_back({s, 1, ctx - 1, s * per_seq});
    for (int b = 0; b < per_seq; ++b) {
      independent.push_back(s * per_seq + b);
      forked.push_back(b < shared ? b : shared + s * own + (b - shared));
    }
  }
  CascadeAttentionRow r;
  r.shape = shape;
  r.samples = samples;
  r.prompt = prompt;
  r.generated = generated;
  const int all_blocks = samples * per_seq, forked_blocks = shared + samples * own;
  r.independent_ms =
      time_plan(heads, kv_heads, d, chunks, independent, all_blocks,
                kernels::plan_attention(chunks, heads, kv_heads, target, slots), stream);
  r.forked_ms = time_plan(heads, kv_heads, d, chunks, forked, forked_blocks,
                          kernels::plan_attention(chunks, heads, kv_heads, target, slots), stream);
  auto runs = kernels::find_shared_prefixes(chunks, forked, bs, heads / kv_heads);
  if (runs.size() != 1) {
    std::fprintf(stderr, "cascade attention: expected one shared run, found %zu\n", runs.size());
    std::exit(1);
  }
  // Split as the backend does: one wave of the tall kernel's resident CTAs.
  for (auto& sp : runs)
    sp.prefix_splits = kernels::cascade_prefix_splits(sp, heads / kv_heads, kv_heads,
                                                      kernels::attention_tall_slots(sms, d));
  const kernels::AttentionPlan plan =
      kernels::plan_attention(chunks, heads, kv_heads, target, slots, runs);
  r.cascade_ms = time_plan(heads, kv_heads, d, chunks, forked, forked_blocks, plan, stream);
  // Its parts alone: the prefix tiles, the members' own keys, the merge.
  kernels::AttentionPlan part = plan;
  part.work16.clear();
  part.cascade.clear();
  r.prefix_ms = time_plan(heads, kv_heads, d, chunks, forked, forked_blocks, part, stream);
  part = plan;
  part.work_tall.clear();
  part.cascade.clear();
  r.suffix_ms = time_plan(heads, kv_heads, d, chunks, forked, forked_blocks, part, stream);
  part = plan;
  part.work_tall.clear();
  part.work16.clear();
  r.merge_ms = time_plan(heads, kv_heads, d, chunks, forked, forked_blocks, part, stream);
  r.prefix_splits = plan.cascade.front().prefix_splits;
  // Other prefix split counts.
  for (int s : {2, 4, 8, 16, 32}) {
    auto forced = runs;
    forced[0].prefix_splits = s;
    r.by_splits.emplace_back(
        s,
        time_plan(heads, kv_heads, d, chunks, forked, forked_blocks,
                  kernels::plan_attention(chunks, heads, kv_heads, target, slots, forced), stream));
  }
  return r;
}

std::vector<AttentionRow> bench_decode_attention(double copy_gbps, cudaStream_t stream) {
  std::vector<AttentionRow> rows;
  std::printf("\ndecode attention (one layer, bf16 KV, 1 query token per sequence)\n");
  std::printf("%-14s %6s %8s %7s %6s %10s %10s %12s\n", "shape", "batch", "context", "splits",
              "CTAs", "ms", "GB/s", "vs copy");
  for (const auto& [shape, h, kvh, d] :
       {std::tuple{"llama-3.1-8b", 32, 8, 128}, std::tuple{"qwen2.5-0.5b", 14, 2, 64}}) {
    for (int batch : {32, 128}) {
      for (int ctx : {2048, 8192}) {
        for (bool waves : {false, true}) {
          rows.push_back(run_decode(shape, h, kvh, d, batch, ctx, waves, copy_gbps, stream));
          const auto& r = rows.back();
          std::printf("%-14s %6d %8d %7s %6d %10.4f %10.1f %11.1f%%\n", shape, batch, ctx,
                      waves ? "waves" : "target", r.ctas, r.ms, r.gbps, 100 * r.ratio);
        }
      }
    }
  }
  return rows;
}

}  // namespace agentrt::bench
