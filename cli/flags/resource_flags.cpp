#include "cli/flags/resource_flags.h"

#include <algorithm>

#include "cli/flags/flag_limits.h"
#include "cli/flags/numeric_flag.h"

namespace agentrt::cli::flags {

int max_threads(unsigned hardware_threads) {
  if (hardware_threads == 0) return kMaxThreadsFlag;
  const auto scaled = static_cast<std::int64_t>(hardware_threads) * kThreadsPerHardwareThread;
  return static_cast<int>(std::min<std::int64_t>(scaled, kMaxThreadsFlag));
}

Result<int> parse_threads_flag(std::string_view text, unsigned hardware_threads) {
  auto v = parse_int_flag("--threads", text, {0, max_threads(hardware_threads)});
  if (!v.ok()) return v.error();
  return static_cast<int>(*v);
}

Result<int> parse_kv_blocks_flag(std::string_view text) {
  auto v = parse_int_flag("--kv-blocks", text, {0, kMaxKvBlocksFlag});
  if (!v.ok()) return v.error();
  return static_cast<int>(*v);
}

Result<Resources> parse_resource_flags(const ResourceFlags& flags, unsigned hardware_threads) {
  Resources r;
  if (flags.threads) {
    auto t = parse_threads_flag(*flags.threads, hardware_threads);
    if (!t.ok()) return t.error();
    r.threads = *t;
  }
  if (flags.kv_blocks) {
    auto b = parse_kv_blocks_flag(*flags.kv_blocks);
    if (!b.ok()) return b.error();
    r.kv_blocks = *b;
  }
  return r;
}

}  // namespace agentrt::cli::flags
