// Kernels of the CUDA backend's anchor pool (device_anchor_pool.h; issue 21): the pieces of
// kv::SegmentAnchors::predict() around its products, in f32, for a placement of n tokens
// against M anchor tokens held in a pool of `cap` rows per layer. Plain C++17, as ops.h.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

namespace agentrt::kernels {

// Most neighbours (AnchorOptions::neighbours) the nearest-mean kernel takes.
constexpr int kMaxAnchorNeighbours = 32;

// out[r] = squared L2 norm of row r of x: rows of `dim` floats, row r at x + r * ld.
cudaError_t launch_row_norms(const float* x, int rows, int dim, std::size_t ld, float* out,
                             cudaStream_t stream);

// The probe term: d[i][j] = max(0, xn[i] + yn[j] - 2 dot[i][j]) in place over j < m (rows
// of ld floats), and row_min[i] = min over j < m of d[i][j] (the novelty's numerator).
cudaError_t launch_probe_distances(float* dot, int n, int m, int ld, const float* xn,
                                   const float* yn, float* row_min, cudaStream_t stream);

// For each row i: the k anchor tokens j < m nearest by max(0, xn[i] + yn[j] - 2 dot[i][j]) +
// probe[i][j] (ties: the lower j), and out[i * out_ld + e] = the mean over them of
// offsets[j * dim + e] for e < dim. dot and probe are rows of ld floats; 1 <= k <= m and
// k <= kMaxAnchorNeighbours.
cudaError_t launch_nearest_mean(const float* dot, const float* probe, int n, int m, int ld,
                                const float* xn, const float* yn, int k, const float* offsets,
                                int dim, float* out, std::size_t out_ld, cudaStream_t stream);

// Appends n tokens to the pool: for each token i and layer l < layers, dst[(l * cap + row0 +
// i) * dim + e] = src[(i * layers + l) * dim + e] and norms[l * cap + row0 + i] = its squared
// norm.
cudaError_t launch_append_anchor_rows(const float* src, int n, int layers, int dim, float* dst,
                                      float* norms, int cap, int row0, cudaStream_t stream);

}  // namespace agentrt::kernels
