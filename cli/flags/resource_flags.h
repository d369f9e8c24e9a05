// The flags that size what a command allocates: --threads and --kv-blocks (`agentrt
// generate` and `agentrt run`), parsed with the bounds of flag_limits.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/common/result.h"

namespace agentrt::cli::flags {

// --threads: 0 (all cores) .. max_threads(hardware_threads). Errors name the flag and the cap.
[[nodiscard]] Result<int> parse_threads_flag(std::string_view text, unsigned hardware_threads);

// --kv-blocks: 0 (the command sizes the pool) .. kMaxKvBlocksFlag.
[[nodiscard]] Result<int> parse_kv_blocks_flag(std::string_view text);

// Both flags as given; absent ones stay 0.
struct ResourceFlags {
  std::optional<std::string> threads;
  std::optional<std::string> kv_blocks;
};

struct Resources {
  int threads = 0;
  int kv_blocks = 0;
};

// Parses the given flags on a machine of `hardware_threads` (0: unknown).
[[nodiscard]] Result<Resources> parse_resource_flags(const ResourceFlags& flags,
                                                     unsigned hardware_threads);

}  // namespace agentrt::cli::flags
