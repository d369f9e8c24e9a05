// CpuIsa: the vector instruction set the CPU backend's kernels use, picked at run time from
// the CPU (cpuid through __builtin_cpu_supports), so one binary runs on any x86-64 machine.
// Levels up to avx512 compute in f32 from exactly widened weights: the library's default,
// and the reference the golden and CUDA-vs-CPU tests compare with. avx512bf16 rounds each
// matmul's activations to bf16 as llama.cpp does (vdpbf16ps for decode, AMX tiles for
// prefill): faster, logits within about 0.04 of f32 on tiny-calc instead of 1e-5. A process
// raises its default with set_default_cpu_isa (agentrt's CLI does: --cpu-precision bf16);
// the environment variable AGENTRT_CPU_ISA (scalar | avx2 | avx512 | avx512bf16) overrides
// the default, and tests override both with force_cpu_isa, so every path stays tested on a
// machine that has all. Every choice is lowered to what the CPU has.
#pragma once

#include <optional>
#include <string_view>

namespace agentrt::cpu {

enum class CpuIsa {
  scalar,  // plain C++
  avx2,    // AVX2 + FMA + F16C
  avx512,  // AVX-512 F/BW/DQ/VL
  // avx512 + AVX512-BF16: products with bf16 weights take bf16-rounded activations
  // (vdpbf16ps), and prefill uses AMX-BF16 tiles where the CPU and kernel allow them.
  avx512bf16,
};

// The ISA the kernels use: force_cpu_isa's, else AGENTRT_CPU_ISA's (read once), else the
// process's default (set_default_cpu_isa; avx512, the best exact level, unless raised); each
// lowered to what the CPU has.
CpuIsa cpu_isa();
// Overrides the choice for the whole process (nullopt: back to detection); for tests.
void force_cpu_isa(std::optional<CpuIsa> isa);
// The level used when neither force_cpu_isa nor AGENTRT_CPU_ISA names one. Call it before
// any backend computes: the kernels read the level at every call.
void set_default_cpu_isa(CpuIsa isa);
// Whether AGENTRT_CPU_ISA names a level (a value it does not know is ignored).
bool cpu_isa_from_env();
// The best ISA the CPU has, ignoring the overrides.
CpuIsa detected_cpu_isa();
std::string_view cpu_isa_name(CpuIsa isa);

}  // namespace agentrt::cpu
