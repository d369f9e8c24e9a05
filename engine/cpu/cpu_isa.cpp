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
  if (s == "avx512bf16") return CpuIsa::avx512bf16;
  return std::nullopt;
}

CpuIsa lower(CpuIsa a, CpuIsa b) {
  return static_cast<int>(a) < static_cast<int>(b) ? a : b;
}

CpuIsa from_env() {
  const char* env = std::getenv("AGENTRT_CPU_ISA");
  const auto want = env != nullptr ? parse(env) : std::nullopt;
  return lower(want.value_or(CpuIsa::avx512), detected_cpu_isa());  // bf16 only by name
}

}  // namespace

CpuIsa detected_cpu_isa() {
  static const CpuIsa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
      return __builtin_cpu_supports("avx512bf16") ? CpuIsa::avx512bf16 : CpuIsa::avx512;
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
    case CpuIsa::avx512bf16:
      return "avx512bf16";
  }
  return "?";
}

}  // namespace agentrt::cpu
