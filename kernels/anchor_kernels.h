// Kernels of the CUDA backend's anchor pool (device_anchor_pool.h; issue 21): the pieces of
// kv::SegmentAnchors::predict() around its products, in f32, for a placement of n tokens
// against M anchor tokens held in a pool of `cap` rows per layer. Plain C++17, as ops.h.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "kernels/ops.h"
#include "kernels/segment_kv.h"

namespace agentrt::kernels {

// Most neighbours (AnchorOptions::neighbours) the nearest-mean kernel takes.
constexpr int kMaxAnchorNeighbours = 32;

// out[j * out_layer + r] = squared L2 norm of row r of layer j < layers: rows of `dim`
// floats, that row at x + j * x_layer + r * ld.
cudaError_t launch_row_norms(const float* x, int rows, int dim, std::size_t ld, float* out,
                             cudaStream_t stream, int layers = 1, std::size_t x_layer = 0,
                             std::size_t out_layer = 0);

// The probe term: d[i][j] = max(0, xn[i] + yn[j] - 2 dot[i][j]) in place over j < m (rows
// of ld floats), and row_min[i] = min over j < m of d[i][j] (the novelty's numerator).
cudaError_t launch_probe_distances(float* dot, int n, int m, int ld, const float* xn,
                                   const float* yn, float* row_min, cudaStream_t stream);

// The prediction of `layers` consecutive layers of a placement, added to the KV pool. For
// each token i < n and layer j < layers: the k anchor tokens r < m nearest by
// max(0, xn[i] + yn[r] - 2 dot[i][r]) + probe[i][r] (ties: the lower r; rows of ld floats),
// and the mean of their offsets rows (dim = 2 x kv_heads x head_dim values, K then V, of
// offsets_dtype) added
// to the KV at position kv.begin + i of layer first_layer + j: K rotated to that position
// (rotate_half RoPE, inv_freq), V as is, in f32 and rounded to the pool's Dtype once, as
// launch_add_token_kv_offsets() adds. Layer j's operands start at dot + j * dot_layer, xn +
// j * xn_layer, yn + j * yn_layer and offsets + j * offsets_layer (a stride of 0 shares
// one). 1 <= k <= min(m, kMaxAnchorNeighbours).
struct NearestMeanParams {
  const float* dot = nullptr;
  std::size_t dot_layer = 0;
  const float* probe = nullptr;
  int n = 0, m = 0, ld = 0, k = 0, layers = 0;
  const float* xn = nullptr;
  std::size_t xn_layer = 0;
  const float* yn = nullptr;
  std::size_t yn_layer = 0;
  const void* offsets = nullptr;
  Dtype offsets_dtype = Dtype::f32;
  std::size_t offsets_layer = 0;  // elements
  int first_layer = 0;
  const float* inv_freq = nullptr;
};
cudaError_t launch_nearest_mean_add(Dtype dt, const NearestMeanParams& p, const TokenKvParams& kv,
                                    cudaStream_t stream);

// Appends n tokens to a pool of `cap` rows per layer: for each token i and layer l < layers,
// row (l * cap + row0 + i) of dst = src[i][first + l] (src: n x src_layers x dim f32), stored
// as `dtype`, and unless norms is null, norms[l * cap + row0 + i] = the squared norm of the
// stored row.
struct AnchorRows {
  const float* src = nullptr;
  int n = 0, src_layers = 0, first = 0, layers = 0, dim = 0;
  Dtype dtype = Dtype::f32;
  void* dst = nullptr;
  float* norms = nullptr;
  int cap = 0, row0 = 0;
};
cudaError_t launch_append_anchor_rows(const AnchorRows& r, cudaStream_t stream);

}  // namespace agentrt::kernels
