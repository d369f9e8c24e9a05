// DeviceSegmentCache: device copies of segment KV (issue 21), named by SegmentEntry ids
// (unique for the process's life, always the same bytes), so that a segment placed again
// needs no upload. Capped in bytes, least recently used evicted first; an allocation that
// fails leaves the cache smaller, never an error (the caller uploads from the host instead).
// One thread (the backend's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>

#include "kernels/device_buffer.h"

namespace agentrt::kernels {

class DeviceSegmentCache {
 public:
  explicit DeviceSegmentCache(std::size_t capacity_bytes) : capacity_(capacity_bytes) {}

  // The copy of `id` if it is held with exactly `bytes` bytes (now the most recently used),
  // else null.
  const void* find(std::uint64_t id, std::size_t bytes);
  // Room for `id`'s `bytes` bytes, evicting least recently used copies until it fits; the
  // caller fills it before the next call. Null (nothing held) for id 0, a size over the
  // capacity, or a failed allocation. Evicting frees device memory (cudaFree synchronizes).
  void* insert(std::uint64_t id, std::size_t bytes);
  std::size_t bytes() const { return bytes_; }
  std::size_t entries() const { return slots_.size(); }

 private:
  struct Slot {
    DeviceBuffer copy;
    std::list<std::uint64_t>::iterator lru;
  };
  void evict_one();

  std::size_t capacity_;
  std::size_t bytes_ = 0;
  std::unordered_map<std::uint64_t, Slot> slots_;
  std::list<std::uint64_t> lru_;  // front: most recently used
};

}  // namespace agentrt::kernels
