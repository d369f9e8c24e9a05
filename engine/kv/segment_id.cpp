// next_segment_id() (segment_cache.h): a process-wide counter.
#include <atomic>

#include "engine/kv/segment_cache.h"

namespace agentrt::kv {

std::uint64_t next_segment_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace agentrt::kv
