// `agentrt info [--model DIR]`: build features, and a model's config and fingerprint.
#include <cstdio>
#include <string>

#include "cli/command.h"
#include "cli/default_model.h"
#include "engine/cpu/amx_matmul.h"
#include "engine/cpu/blas_core.h"
#include "engine/cpu/cpu_isa.h"
#include "engine/model/model.h"

#ifdef AGENTRT_HAVE_CUDA
#include "kernels/device_info.h"
#endif

namespace agentrt::cli {
namespace {

void print_cuda() {
#ifdef AGENTRT_HAVE_CUDA
  auto devices = kernels::list_devices();
  if (!devices.ok()) {
    std::printf("cuda: built, no usable device (%s)\n", devices.error().message.c_str());
    return;
  }
  std::printf("cuda: built, %zu device(s)\n", devices->size());
  for (const auto& d : *devices) {
    std::printf("  [%d] %s, sm_%d%d, %.1f GiB\n", d.index, d.name.c_str(), d.major, d.minor,
                static_cast<double>(d.total_memory) / (1024.0 * 1024.0 * 1024.0));
  }
#else
  std::printf("cuda: not built (nvcc was not found at configure time)\n");
#endif
}

// OpenBLAS's kernels, the CPU's best kernel level, and what --cpu-precision bf16 gets from it.
void print_cpu() {
  std::printf("cpu: OpenBLAS %s kernels\n", cpu::ensure_blas_core().c_str());
  if (cpu::cpu_isa_from_env()) {
    std::printf("cpu: %s kernels (AGENTRT_CPU_ISA; --cpu-precision has no effect)\n",
                std::string(cpu::cpu_isa_name(cpu::cpu_isa())).c_str());
    return;
  }
  const cpu::CpuIsa best = cpu::detected_cpu_isa();
  if (best < cpu::CpuIsa::avx512bf16) {
    std::printf("cpu: %s kernels (no AVX512-BF16: --cpu-precision bf16 computes exactly)\n",
                std::string(cpu::cpu_isa_name(best)).c_str());
    return;
  }
  std::printf(
      "cpu: avx512 kernels with --cpu-precision exact (the default), avx512bf16 with "
      "bf16 (prefill on %s)\n",
      cpu::amx_supported() ? "AMX tiles" : "the exact path: no AMX");
}

}  // namespace

CommandFn add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show build features and a model's config");
  auto model_dir = std::make_shared<std::string>();
  cmd->add_option("--model", *model_dir, "Model directory (Hugging Face format)");
  return [model_dir]() {
    std::printf("agentrt 0.1.0\n");
    print_cpu();
    print_cuda();
    std::string dir = model_dir->empty() ? default_model_dir().string() : *model_dir;
    auto model = model::Model::load(dir);
    if (!model.ok()) {
      std::fprintf(stderr, "agentrt: %s\n", model.error().to_string().c_str());
      return kExitFailure;
    }
    const auto& c = (*model)->config();
    std::printf(
        "model: %s\n  architecture %s, %d layers, hidden %d, heads %d/%d (kv), head_dim %d,"
        " vocab %d\n  fingerprint %s\n",
        dir.c_str(), std::string(model::architecture_name(c.arch)).c_str(), c.num_layers,
        c.hidden_size, c.num_heads, c.num_kv_heads, c.head_dim, c.vocab_size,
        (*model)->fingerprint().c_str());
    return kExitOk;
  };
}

}  // namespace agentrt::cli
