#include "cluster/node_held_stores.h"

#include <algorithm>

namespace agentrt::cluster {

void HeldStores::hold(OrphanStores::Lease lease, Clock::time_point until) {
  const std::string path = lease.path();
  auto it = held_.find(path);
  if (it != held_.end()) {
    it->second.until = std::max(it->second.until, until);
    return;  // `lease` goes: the store stays open through the held one
  }
  const std::int64_t read = lease.blocks_read();
  held_.emplace(path, Held{std::move(lease), until, read});
}

bool HeldStores::extend(const std::string& path, Clock::time_point until) {
  auto it = held_.find(path);
  if (it == held_.end()) return false;
  it->second.until = std::max(it->second.until, until);
  return true;
}

std::vector<std::pair<std::string, std::int64_t>> HeldStores::expire(Clock::time_point now) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second.until > now) {
      ++it;
      continue;
    }
    out.emplace_back(it->first, it->second.lease.blocks_read());
    it = held_.erase(it);
  }
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> HeldStores::newly_read() {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (auto& [path, h] : held_) {
    const std::int64_t n = h.lease.blocks_read();
    if (n == h.reported) continue;
    h.reported = n;
    out.emplace_back(path, n);
  }
  return out;
}

}  // namespace agentrt::cluster
