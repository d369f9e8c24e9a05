// Page cache state of a directory's files, for benchmarks that read from disk: how much of
// them is resident (mincore), and a way to evict them (fdatasync + POSIX_FADV_DONTNEED, no
// root needed; pages another process maps may stay).
#pragma once

#include <cstdint>
#include <filesystem>

namespace agentrt::bench {

struct CacheState {
  std::uint64_t file_bytes = 0;      // regular files under the directory, recursively
  std::uint64_t resident_bytes = 0;  // of those, pages in the page cache
};

CacheState page_cache_state(const std::filesystem::path& dir);
// Asks the kernel to drop the directory's clean pages from the page cache (after writing
// back dirty ones). Best effort: failures are ignored; measure with page_cache_state.
void evict_page_cache(const std::filesystem::path& dir);

}  // namespace agentrt::bench
