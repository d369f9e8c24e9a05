// CpuIsa: the vector instruction set the CPU backend's kernels use, picked at run time from
// the CPU (cpuid through __builtin_cpu_supports), so one binary runs on any x86-64 machine.
// The environment variable AGENTRT_CPU_ISA (scalar | avx2 | avx512) lowers the choice, and
// tests lower it with force_cpu_isa, so every path stays tested on a machine that has all.
#pragma once

#include <optional>
#include <string_view>

namespace agentrt::cpu {

enum class CpuIsa {
  scalar,  // plain C++
  avx2,    // AVX2 + FMA + F16C
  avx512,  // AVX-512 F/BW/DQ/VL
};

// The best ISA this CPU has, lowered by AGENTRT_CPU_ISA (read once) and force_cpu_isa.
// A request above what the CPU has is ignored.
CpuIsa cpu_isa();
// Overrides the choice for the whole process (nullopt: back to detection); for tests.
void force_cpu_isa(std::optional<CpuIsa> isa);
// The best ISA the CPU has, ignoring the overrides.
CpuIsa detected_cpu_isa();
std::string_view cpu_isa_name(CpuIsa isa);

}  // namespace agentrt::cpu
