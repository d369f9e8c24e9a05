#include "engine/cpu/blas_core.h"

#include <strings.h>

#include <cstdlib>

extern "C" {
char* openblas_get_corename(void);
// DYNAMIC_ARCH builds only (engine/cpu/blas_core.h); weak, so another build links too.
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));
}

namespace agentrt::cpu {
namespace {

// OpenBLAS's core for the CPU's features, as its own fallback for an unknown CPU picks it.
const char* blas_core_for_features() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

std::string pick_blas_core() {
  const std::string loaded = openblas_get_corename();
  if (strcasecmp(loaded.c_str(), "Prescott") != 0) return loaded;
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return loaded;  // the user's choice
  if (gotoblas_dynamic_init == nullptr || gotoblas_dynamic_quit == nullptr) return loaded;
  const char* want = blas_core_for_features();
  if (want == nullptr) return loaded;
  // gotoblas_dynamic_init() reads OPENBLAS_CORETYPE, as at load.
  gotoblas_dynamic_quit();
  setenv("OPENBLAS_CORETYPE", want, 1);
  gotoblas_dynamic_init();
  unsetenv("OPENBLAS_CORETYPE");
  return openblas_get_corename();
}

[[maybe_unused]] const std::string kBlasCoreAtLoad = ensure_blas_core();

}  // namespace

std::string ensure_blas_core() {
  static const std::string core = pick_blas_core();
  return core;
}

}  // namespace agentrt::cpu
