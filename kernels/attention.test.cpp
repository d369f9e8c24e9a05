// Paged attention against a double-precision CPU reference on random inputs: the
// tensor-core kernel (bf16, head_dim 64 and 128) on mixed decode and chunked-prefill plans,
// with split-KV for long contexts; the generic kernel (f32 and bf16, other head dims).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>
#include <random>

#include "kernels/attention.h"
#include "kernels/test_util.h"

namespace agentrt::kernels {
namespace {

struct Case {
  const char* name;
  Dtype dt;
  int heads, kv_heads, head_dim;
  std::vector<std::pair<int, int>> chunks;  // (count, start_pos)
  // The first shared_seqs chunks (decodes) begin with the same shared_keys / 16 blocks, as
  // forked samples do; the plan then runs a cascade over them.
  int shared_seqs = 0;
  int shared_keys = 0;
  // 16: tall tiles load K and V by bulk tensor copies; other sizes by cp.async.
  int block_size = 16;
};

void run_case(const Case& cs) {
  const int H = cs.heads, KV = cs.kv_heads, D = cs.head_dim, bs = cs.block_size, layers = 2,
            layer = 1;
  std::vector<AttnChunk> chunks;
  std::vector<std::int32_t> tables, positions, row_chunk;
  int rows = 0, blocks_needed = cs.shared_keys / bs;
  for (const auto& [count, start] : cs.chunks) {
    const bool shares = static_cast<int>(chunks.size()) < cs.shared_seqs;
    chunks.push_back({rows, count, start, static_cast<std::int32_t>(tables.size())});
    const int nb = (start + count + bs - 1) / bs;
    for (int b = 0; b < nb; ++b) {
      if (shares && b < cs.shared_keys / bs) {
        tables.push_back(b);
      } else {
        tables.push_back(blocks_needed++);
      }
    }
    for (int i = 0; i < count; ++i) {
      positions.push_back(start + i);
      row_chunk.push_back(static_cast<int>(chunks.size()) - 1);
    }
    rows += count;
  }
  // Physical blocks in shuffled order, as a real pool hands them out.
  std::vector<std::int32_t> perm(blocks_needed);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937(7));
  for (auto& t : tables)
    t = perm[t];
  const std::size_t slab = std::size_t(bs) * D;
  const std::size_t pool_elems = std::size_t(blocks_needed) * layers * 2 * KV * slab;
  auto pool = test::rounded(test::random_vector(pool_elems, 1), cs.dt);
  auto q = test::rounded(test::random_vector(std::size_t(rows) * H * D, 2, -2.0f, 2.0f), cs.dt);
  auto d_pool = test::upload(pool, cs.dt), d_q = test::upload(q, cs.dt);
  DeviceBuffer out;
  ASSERT_TRUE(out.allocate(std::size_t(rows) * H * D * dtype_bytes(cs.dt)).ok());
  test::poison(out);
  int sms = 0;
  ASSERT_EQ(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), cudaSuccess);
  const std::vector<SharedPrefix> shared = find_shared_prefixes(chunks, tables, bs, H / KV);
  if (cs.shared_seqs > 0) {
    ASSERT_EQ(shared.size(), 1u);
    EXPECT_EQ(shared[0].seqs, cs.shared_seqs);
    EXPECT_EQ(shared[0].prefix_len, cs.shared_keys);
  } else {
    EXPECT_TRUE(shared.empty());
  }
  const AttentionPlan plan = plan_attention(chunks, H, KV, attention_target_ctas(sms), 0, shared);
  std::vector<AttnChunk> all_chunks = chunks;
  all_chunks.insert(all_chunks.end(), plan.extra_chunks.begin(), plan.extra_chunks.end());
  auto d_tables = test::upload_raw(tables), d_chunks = test::upload_raw(all_chunks);
  auto d_cascade = test::upload_raw(plan.cascade);
  auto d_pos = test::upload_raw(positions), d_rc = test::upload_raw(row_chunk);
  auto d_w16 = test::upload_raw(plan.work16), d_w64 = test::upload_raw(plan.work_tall);
  auto d_c16 = test::upload_raw(plan.combine16), d_c64 = test::upload_raw(plan.combine_tall);
  DeviceBuffer po16, pl16, po64, pl64;
  ASSERT_TRUE(po16.allocate(std::max(1, plan.partials16) * 16 * D * 4).ok());
  ASSERT_TRUE(pl16.allocate(std::max(1, plan.partials16) * 16 * 4).ok());
  ASSERT_TRUE(po64.allocate(std::max(1, plan.partials_tall) * kTallRows * D * 4).ok());
  ASSERT_TRUE(pl64.allocate(std::max(1, plan.partials_tall) * kTallRows * 4).ok());
  AttentionParams p;
  p.dtype = cs.dt;
  p.q = d_q.get();
  p.out = out.get();
  p.kv = {d_pool.get(), blocks_needed, layers, KV, bs, D};
  p.layer = layer;
  p.num_heads = H;
  p.scale = 1.0f / std::sqrt(float(D));
  p.tables = d_tables.get<std::int32_t>();
  p.chunks = d_chunks.get<AttnChunk>();
  p.num_chunks = static_cast<int>(chunks.size());
  p.row_chunk = d_rc.get<std::int32_t>();
  p.positions = d_pos.get<std::int32_t>();
  p.rows = rows;
  p.work16 = d_w16.get<AttnWork>();
  p.num_work16 = static_cast<int>(plan.work16.size());
  p.work_tall = d_w64.get<AttnWork>();
  p.num_work_tall = static_cast<int>(plan.work_tall.size());
  p.combine16 = d_c16.get<AttnCombine>();
  p.num_combine16 = static_cast<int>(plan.combine16.size());
  p.combine_tall = d_c64.get<AttnCombine>();
  p.num_combine_tall = static_cast<int>(plan.combine_tall.size());
  p.cascade = d_cascade.get<AttnCascade>();
  p.num_cascade = static_cast<int>(plan.cascade.size());
  p.partial_o16 = po16.get<float>();
  p.partial_lse16 = pl16.get<float>();
  p.partial_o_tall = po64.get<float>();
  p.partial_lse_tall = pl64.get<float>();
  ASSERT_EQ(launch_attention(p, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  auto got = test::download(out.get(), std::size_t(rows) * H * D, cs.dt);

  std::vector<double> ref(got.size());
  const int group = H / KV;
  std::vector<double> s;
  for (int r = 0; r < rows; ++r) {
    const AttnChunk& c = chunks[row_chunk[r]];
    const int pos = positions[r];
    for (int h = 0; h < H; ++h) {
      const float* qv = &q[(std::size_t(r) * H + h) * D];
      const int kvh = h / group;
      s.assign(pos + 1, 0.0);
      double mx = -1e300;
      for (int j = 0; j <= pos; ++j) {
        const std::size_t blk = tables[c.table_offset + j / bs];
        const float* k = &pool[((blk * layers + layer) * 2 * KV + kvh) * slab + (j % bs) * D];
        double dot = 0;
        for (int e = 0; e < D; ++e)
          dot += double(qv[e]) * k[e];
        s[j] = dot / std::sqrt(double(D));
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (auto& v : s)
        sum += (v = std::exp(v - mx));
      double* o = &ref[(std::size_t(r) * H + h) * D];
      for (int j = 0; j <= pos; ++j) {
        const std::size_t blk = tables[c.table_offset + j / bs];
        const float* v = &pool[((blk * layers + layer) * 2 * KV + KV + kvh) * slab + (j % bs) * D];
        for (int e = 0; e < D; ++e)
          o[e] += s[j] / sum * v[e];
      }
    }
  }
  const double err = test::rel_error(got, ref);
  std::cout << "[rel error] attention " << cs.name << " (" << rows << " rows, "
            << plan.work16.size() << "+" << plan.work_tall.size() << " tiles, "
            << plan.combine16.size() + plan.combine_tall.size() << " split tiles, "
            << plan.cascade.size() << " cascade merges): " << err << "\n";
  EXPECT_LE(err, test::tolerance(cs.dt)) << cs.name;
}

class Attention : public ::testing::Test {
 protected:
  void SetUp() override { AGENTRT_REQUIRE_CUDA_DEVICE(); }
};

std::vector<std::pair<int, int>> decodes(int n, int lo, int hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> len(lo, hi);
  std::vector<std::pair<int, int>> v;
  for (int i = 0; i < n; ++i)
    v.push_back({1, len(rng)});
  return v;
}

TEST_F(Attention, TensorCoresHeadDim128DecodeSplitKvAndPrefillAfterPrefix) {
  auto chunks = decodes(12, 700, 2200, 1);
  chunks.push_back({150, 77});  // a chunked prefill after a 77-token cached prefix
  chunks.push_back({3, 40});    // a short chunk: 16-row tiles
  run_case({"bf16 d128 gqa4", Dtype::bf16, 32, 8, 128, chunks});
}

TEST_F(Attention, TensorCoresHeadDim64Group7) {
  auto chunks = decodes(20, 1, 1500, 2);
  chunks.push_back({200, 0});
  chunks.push_back({33, 500});
  run_case({"bf16 d64 gqa7", Dtype::bf16, 14, 2, 64, chunks});
}

// 32-token blocks: the tall tiles copy K and V with cp.async instead of bulk tensor copies.
TEST_F(Attention, TensorCoresBlocksOf32) {
  auto chunks = decodes(6, 300, 1500, 6);
  chunks.push_back({300, 100});  // prefill after a prefix that ends inside a block
  chunks.push_back({70, 0});
  for (const int d : {64, 128}) {
    Case cs{d == 64 ? "bf16 d64 gqa7 blocks of 32" : "bf16 d128 gqa4 blocks of 32",
            Dtype::bf16,
            d == 64 ? 14 : 32,
            d == 64 ? 2 : 8,
            d,
            chunks};
    cs.block_size = 32;
    run_case(cs);
  }
}

TEST_F(Attention, TensorCoresLongPrefillTiles) {
  run_case({"bf16 d128 prefill 1k after 1k", Dtype::bf16, 8, 2, 128, {{1024, 1024}}});
}

// 64 forked samples over a 4k prompt (several tall prefix tiles, key splits), a few with
// long own suffixes (split too), next to an unrelated decode and a prefill.
TEST_F(Attention, CascadeOverSharedPrefixHeadDim128) {
  auto chunks = decodes(64, 4096, 4200, 4);
  chunks[3].second = 4096 + 2500;  // a member whose own keys split
  chunks.push_back({1, 900});
  chunks.push_back({40, 300});
  Case cs{"bf16 d128 gqa4 cascade", Dtype::bf16, 32, 8, 128, chunks};
  cs.shared_seqs = 64;
  cs.shared_keys = 4096;
  run_case(cs);
}

// Group 7: sequences per tall tile (18) do not divide 128 rows.
TEST_F(Attention, CascadeOverSharedPrefixHeadDim64Group7) {
  auto chunks = decodes(40, 1030, 1100, 5);
  Case cs{"bf16 d64 gqa7 cascade", Dtype::bf16, 14, 2, 64, chunks};
  cs.shared_seqs = 40;
  cs.shared_keys = 1024;
  run_case(cs);
}

TEST_F(Attention, GenericKernelAllHeadDims) {
  for (const int d : {16, 32, 64, 128}) {
    for (const Dtype dt : {Dtype::f32, Dtype::bf16}) {
      if (attention_uses_tensor_cores(dt, d)) continue;
      auto chunks = decodes(5, 1, 300, 3);
      chunks.push_back({40, 9});
      const std::string name =
          std::string(dt == Dtype::f32 ? "f32" : "bf16") + " generic d" + std::to_string(d);
      run_case({name.c_str(), dt, 4, 2, d, chunks});
    }
  }
}

TEST(AttentionPlan, SplitsLongDecodesAndKeepsPrefillWhole) {
  std::vector<AttnChunk> chunks{{0, 1, 4000, 0}, {1, 64, 0, 0}};
  const AttentionPlan p = plan_attention(chunks, 32, 8, 264);
  ASSERT_EQ(p.combine16.size(), 8u);  // one per kv head of the decode
  EXPECT_GT(p.combine16[0].splits, 1);
  EXPECT_EQ(p.partials16, p.combine16[0].splits * 8);
  EXPECT_EQ(p.work_tall.size(), 8u * 2);  // 64 tokens x group 4 = 256 rows = 2 tiles per kv head
  int covered = 0;
  for (const auto& w : p.work16)
    if (w.kv_head == 0) covered += w.kv_end - w.kv_begin;
  EXPECT_EQ(covered, 4001);  // the split ranges cover every key once
}

// Each tile height fills the device by itself: a 4k prefill's 1,024 tall tiles are not
// split, while the long decodes beside it are, as they would be alone.
TEST(AttentionPlan, EachTileHeightFillsTheDeviceAlone) {
  std::vector<AttnChunk> chunks;
  for (int i = 0; i < 32; ++i)
    chunks.push_back({i, 1, 4000, 0});
  chunks.push_back({32, 4096, 0, 0});
  const AttentionPlan p = plan_attention(chunks, 32, 8, 1056);
  EXPECT_TRUE(p.combine_tall.empty());
  EXPECT_EQ(p.work_tall.size(), 4096u * 4 / kTallRows * 8);
  ASSERT_EQ(p.combine16.size(), 32u * 8);
  for (const AttnCombine& c : p.combine16)
    EXPECT_EQ(c.splits, 5);  // 1,056 one-warp CTAs over 256 decode tiles
}

}  // namespace
}  // namespace agentrt::kernels
