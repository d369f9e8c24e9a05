// Bounded reads of files named by users: config.json, tokenizer.json, workflows, --input @FILE.
// A path must name a regular file no larger than a cap; FIFOs, devices and directories are
// refused before anything blocks or grows, and each error names the path and the reason.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "engine/common/result.h"

namespace agentrt {

// Caps for files read whole into memory (docs/limits.md lists them).
inline constexpr std::uint64_t kMaxConfigFileBytes = 16ull << 20;      // config.json and the like
inline constexpr std::uint64_t kMaxTokenizerFileBytes = 256ull << 20;  // tokenizer.json
inline constexpr std::uint64_t kMaxWorkflowFileBytes = 4ull << 20;     // workflow YAML
inline constexpr std::uint64_t kMaxInputFileBytes = 64ull << 20;       // --input NAME=@FILE

// Checks that `path` names an existing regular file (following symlinks) of at most
// `max_bytes`, and returns its size. Errors: not_found (no such file), io (a FIFO, device,
// directory or socket; a symlink loop; permission), invalid_argument (larger than the cap).
[[nodiscard]] Result<std::uint64_t> check_regular_file(const std::filesystem::path& path,
                                                       std::uint64_t max_bytes);

// Reads the whole of a regular file of at most `max_bytes` bytes. Never blocks on a FIFO and
// never reads past the cap, even when the file grows while it is read. Errors as above.
[[nodiscard]] Result<std::string> read_file_bounded(const std::filesystem::path& path,
                                                    std::uint64_t max_bytes);

}  // namespace agentrt
