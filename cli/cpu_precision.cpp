#include "cli/cpu_precision.h"

#include "engine/cpu/cpu_isa.h"

namespace agentrt::cli {

CLI::Option* add_cpu_precision_flag(CLI::App* cmd, std::string& out) {
  out = "exact";
  return cmd
      ->add_option("--cpu-precision", out,
                   "CPU products with bf16 weights: exact (f32 activations, the reference the "
                   "golden tests hold to transformers) or bf16 (activations rounded to bf16 on "
                   "AVX512-BF16 CPUs, as llama.cpp does: faster decode, approximate)")
      ->check(CLI::IsMember({"exact", "bf16"}))
      ->capture_default_str();
}

void apply_cpu_precision(const std::string& precision) {
  cpu::set_default_cpu_isa(precision == "exact" ? cpu::CpuIsa::avx512 : cpu::CpuIsa::avx512bf16);
}

}  // namespace agentrt::cli
