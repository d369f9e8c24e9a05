// The on-disk KV stores of dead workers that a worker holds open for a while when the
// coordinator routes agent turns (`--cluster-route turns`): the coordinator names each dead
// worker's store to the live ones (wire.h's turn_orphan_atom), and the jobs it ran turns of
// run again with their turns spread over those workers, whose engines then read the blocks
// their own tier lacks from it (OrphanStores, ReadThroughTier). A store is held until its time
// is up; a later hold of the same store extends it. Owned by the node's actor (not
// thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cluster/orphan_stores.h"

namespace agentrt::cluster {

class HeldStores {
 public:
  using Clock = std::chrono::steady_clock;

  // Holds `lease` until `until` (the later of both if its store is held already).
  void hold(OrphanStores::Lease lease, Clock::time_point until);
  // Extends the hold of `path` to `until` if it is held; false otherwise.
  bool extend(const std::string& path, Clock::time_point until);
  // Gives back the stores whose time is up; returns their paths with the blocks read.
  std::vector<std::pair<std::string, std::int64_t>> expire(Clock::time_point now);
  // The held stores whose blocks-read count changed since the last call, with that count.
  std::vector<std::pair<std::string, std::int64_t>> newly_read();
  std::size_t size() const { return held_.size(); }

 private:
  struct Held {
    OrphanStores::Lease lease;
    Clock::time_point until;
    std::int64_t reported = 0;
  };
  std::map<std::string, Held> held_;  // by path
};

}  // namespace agentrt::cluster
