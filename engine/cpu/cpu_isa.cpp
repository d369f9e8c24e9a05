#include "engine/cpu/cpu_isa.h"

#include <atomic>
#include <cstdlib>
#include <string>

namespace agentrt::cpu {
namespace {

constexpr int kNoForce = -1;
std::atomic<int> g_forced{kNoForce};

std::optional<CpuIsa> parse(std::string_view s) {
  if (s == "scalar") return CpuIsa::scalar;
  if (s == "avx2") return CpuIsa::avx2;
  if (s == "avx512") return CpuIsa::avx512;
  return std::nullopt;
}

CpuIsa lower(CpuIsa a, CpuIsa b) {
  return static_cast<int>(a) < static_cast<int>(b) ? a : b;
}

CpuIsa from_env() {
  const char* env = std::getenv("AGENTRT_CPU_ISA");
  const CpuIsa best = detected_cpu_isa();
  if (env == nullptr) return best;
  const auto want = parse(env);
  return want ? lower(*want, best) : best;
}

}  // namespace

CpuIsa detected_cpu_isa() {
  static const CpuIsa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
      return CpuIsa::avx512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuIsa::avx2;
    return CpuIsa::scalar;
  }();
  return isa;
}

CpuIsa cpu_isa() {
  static const CpuIsa env = from_env();
  const int forced = g_forced.load(std::memory_order_relaxed);
  if (forced == kNoForce) return env;
  return lower(static_cast<CpuIsa>(forced), detected_cpu_isa());
}

void force_cpu_isa(std::optional<CpuIsa> isa) {
  g_forced.store(isa ? static_cast<int>(*isa) : kNoForce, std::memory_order_relaxed);
}

std::string_view cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::scalar:
      return "scalar";
    case CpuIsa::avx2:
      return "avx2";
    case CpuIsa::avx512:
      return "avx512";
  }
  return "?";
}

}  // namespace agentrt::cpu
