// --cpu-precision (generate, run, serve, node): how the CPU backend computes its products with
// bf16 weights, for the whole process.
// - exact (the default): f32 activations from exactly widened weights (OpenBLAS sgemm for
//   prefill, engine/cpu/blas_core.h), the reference the golden tests hold to transformers.
// - bf16: activations rounded to bf16, as llama.cpp does, on AVX512-BF16: vdpbf16ps for steps
//   of up to 8 rows, AMX tiles for larger ones where the CPU has them (else the exact path).
//   Faster decode (a quarter of the instructions per weight: 1.3-1.5x tiny-calc's, 1.2-2.0x the
//   0.5B shape's on the 2-core build machine) and, on AMX CPUs, faster prefill; approximate
//   (logits within about 0.04 of f32 on tiny-calc); and on CPUs without AMX a row is rounded
//   in small steps and not in large ones, so a sequence's tokens can depend on what else the
//   step holds. A CPU without AVX512-BF16 computes exactly.
// AGENTRT_CPU_ISA, when set, picks the kernels' level and overrides this flag
// (engine/cpu/cpu_isa.h). The CUDA backend ignores it (bf16 on the GPU).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace agentrt::cli {

// Registers --cpu-precision exact|bf16 on `cmd` (`out` holds "exact" unless given); any other
// value is a usage error.
CLI::Option* add_cpu_precision_flag(CLI::App* cmd, std::string& out);

// Makes `precision` ("bf16" or "exact") the process's default kernel level; call before a
// backend is made.
void apply_cpu_precision(const std::string& precision);

}  // namespace agentrt::cli
