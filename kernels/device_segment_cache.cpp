#include "kernels/device_segment_cache.h"

namespace agentrt::kernels {

const void* DeviceSegmentCache::find(std::uint64_t id, std::size_t bytes) {
  auto it = slots_.find(id);
  if (id == 0 || it == slots_.end() || it->second.copy.bytes() != bytes) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.copy.get();
}

void DeviceSegmentCache::evict_one() {
  const std::uint64_t victim = lru_.back();
  lru_.pop_back();
  auto it = slots_.find(victim);
  bytes_ -= it->second.copy.bytes();
  slots_.erase(it);
}

void* DeviceSegmentCache::insert(std::uint64_t id, std::size_t bytes) {
  if (id == 0 || bytes == 0 || bytes > capacity_) return nullptr;
  if (auto it = slots_.find(id); it != slots_.end()) {
    bytes_ -= it->second.copy.bytes();
    lru_.erase(it->second.lru);
    slots_.erase(it);
  }
  while (bytes_ + bytes > capacity_)
    evict_one();
  DeviceBuffer copy;
  if (!copy.allocate(bytes).ok()) {
    cudaGetLastError();  // an allocation error is not sticky: clear it for later checks
    return nullptr;
  }
  lru_.push_front(id);
  void* p = copy.get();
  slots_.emplace(id, Slot{std::move(copy), lru_.begin()});
  bytes_ += bytes;
  return p;
}

}  // namespace agentrt::kernels
