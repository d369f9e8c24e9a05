#include "engine/cpu/cpu_isa.h"

#include <atomic>
#include <cstdlib>
#include <string>

namespace agentrt::cpu {
namespace {

constexpr int kNoForce = -1;
std::atomic<int> g_forced{kNoForce};
std::atomic<int> g_default{static_cast<int>(CpuIsa::avx512)};

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

std::optional<CpuIsa> from_env() {
  static const std::optional<CpuIsa> env = [] {
    const char* value = std::getenv("AGENTRT_CPU_ISA");
    return value != nullptr ? parse(value) : std::nullopt;
  }();
  return env;
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
  const int forced = g_forced.load(std::memory_order_relaxed);
  if (forced != kNoForce) return lower(static_cast<CpuIsa>(forced), detected_cpu_isa());
  if (const auto env = from_env()) return lower(*env, detected_cpu_isa());
  return lower(static_cast<CpuIsa>(g_default.load(std::memory_order_relaxed)), detected_cpu_isa());
}

void force_cpu_isa(std::optional<CpuIsa> isa) {
  g_forced.store(isa ? static_cast<int>(*isa) : kNoForce, std::memory_order_relaxed);
}

void set_default_cpu_isa(CpuIsa isa) {
  g_default.store(static_cast<int>(isa), std::memory_order_relaxed);
}

bool cpu_isa_from_env() {
  return from_env().has_value();
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
