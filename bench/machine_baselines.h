// Ceilings of the machine a benchmark runs on, measured in the same run: the rate of a large
// OpenBLAS sgemm, and the bandwidth of reading a buffer far larger than the caches.
#pragma once

namespace agentrt::bench {

// GFLOP/s of C[m,n] = A[m,k] * B[n,k]^T with `threads` OpenBLAS threads (median of 5).
double measure_sgemm_gflops(int m, int n, int k, int threads);
// GB/s of summing a `megabytes` buffer with `threads` threads (median of 5).
double measure_read_gbps(int megabytes, int threads);

}  // namespace agentrt::bench
