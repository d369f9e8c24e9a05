// The OpenBLAS kernels this process runs. OpenBLAS (Debian's is a DYNAMIC_ARCH build) picks
// its kernels at load from the CPU's model number, and releases before 0.3.25 fall back to
// their SSE3 "Prescott" kernels for Intel models they do not know (OpenBLAS issue 4267; Debian
// 12 ships 0.3.21). On this project's 2-core machines (an Emerald Rapids Xeon, model 207,
// under KVM) sgemm then ran at 17-55 GFLOP/s on 1-2 threads instead of 109-288, and the exact
// path's prefill at a quarter of its speed (bench/RESULTS.md, CPU round 5). ensure_blas_core()
// gives such a process the kernels the CPU's features allow, as OpenBLAS itself does for a CPU it
// cannot place at all.
#pragma once

#include <string>

namespace agentrt::cpu {

// Once per process (also before main, from a static initializer of this library's
// blas_core.cpp, while only OpenBLAS's idle workers run): when OpenBLAS runs its Prescott
// kernels on a CPU with AVX2 or better and OPENBLAS_CORETYPE is unset, switches it to
// Cooperlake (AVX512-BF16), SkylakeX (AVX-512) or Haswell (AVX2 + FMA) kernels. Returns the
// kernels in use afterwards (OpenBLAS's core name). Where the library lacks the DYNAMIC_ARCH
// entry points it changes nothing. Thread-safe.
std::string ensure_blas_core();

}  // namespace agentrt::cpu
