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

// One layer's decode attention: `batch` sequences of `context` keys, one query token each.
AttentionRow run_decode(const char* shape, int heads, int kv_heads, int d, int batch, int context,
                        bool wave_splits, double copy_gbps, cudaStream_t stream) {
  const int bs = 16, per_seq = (context + bs - 1) / bs, blocks = batch * per_seq;
  std::vector<kernels::AttnChunk> chunks;
  std::vector<std::int32_t> tables(static_cast<std::size_t>(blocks)), positions, row_chunk;
  std::iota(tables.begin(), tables.end(), 0);
  std::shuffle(tables.begin(), tables.end(), std::mt19937(1));  // scattered, as a real pool
  for (int s = 0; s < batch; ++s) {
    chunks.push_back({s, 1, context - 1, s * per_seq});
    positions.push_back(context - 1);
    row_chunk.push_back(s);
  }
  int sms = 0;
  cuda_check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), "attr");
  const kernels::AttentionPlan plan =
      kernels::plan_attention(chunks, heads, kv_heads, kernels::attention_target_ctas(sms),
                              wave_splits ? kernels::attention_decode_slots(sms, d) : 0);
  const std::size_t pool_elems = static_cast<std::size_t>(blocks) * 2 * kv_heads * bs * d;
  DeviceBuffer pool = alloc(pool_elems * 2);
  DeviceBuffer q = alloc(static_cast<std::size_t>(batch) * heads * d * 2), out = alloc(q.bytes());
  cuda_check(kernels::launch_fill_random(Dtype::bf16, pool.get(), pool_elems, 4, 1.0f, stream),
             "f");
  cuda_check(kernels::launch_fill_random(Dtype::bf16, q.get(), q.bytes() / 2, 5, 1.0f, stream),
             "f");
  auto d_tables = upload(tables), d_chunks = upload(chunks), d_pos = upload(positions);
  auto d_rc = upload(row_chunk), d_w16 = upload(plan.work16), d_c16 = upload(plan.combine16);
  DeviceBuffer po = alloc(std::max(1, plan.partials16) * 16 * d * 4);
  DeviceBuffer pl = alloc(std::max(1, plan.partials16) * 16 * 4);
  kernels::AttentionParams p;
  p.dtype = Dtype::bf16;
  p.q = q.get();
  p.out = out.get();
  p.kv = {pool.get(), blocks, 1, kv_heads, bs, d};
  p.num_heads = heads;
  p.scale = 1.0f / std::sqrt(static_cast<float>(d));
  p.tables = d_tables.get<std::int32_t>();
  p.chunks = d_chunks.get<kernels::AttnChunk>();
  p.num_chunks = batch;
  p.row_chunk = d_rc.get<std::int32_t>();
  p.positions = d_pos.get<std::int32_t>();
  p.rows = batch;
  p.work16 = d_w16.get<kernels::AttnWork>();
  p.num_work16 = static_cast<int>(plan.work16.size());
  p.combine16 = d_c16.get<kernels::AttnCombine>();
  p.num_combine16 = static_cast<int>(plan.combine16.size());
  p.partial_o16 = po.get<float>();
  p.partial_lse16 = pl.get<float>();
  const double ms = median_ms(
      stream, 3, 20, [&] { cuda_check(kernels::launch_attention(p, stream), "attention"); });
  const double bytes =
      static_cast<double>(batch) * context * kv_heads * d * 2 * 2 + 2.0 * q.bytes();
  const double gbps = bytes / (ms * 1e-3) / 1e9;
  return {shape, heads,   kv_heads,        d,
          batch, context, wave_splits,     static_cast<int>(plan.work16.size()),
          ms,    gbps,    gbps / copy_gbps};
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
