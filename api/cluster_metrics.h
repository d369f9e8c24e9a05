// The cluster section of GET /metrics (docs/metrics.md): each live node's load and the
// attempts routed to it, and the coordinator's counters. The server gathers it through
// ServerOptions::cluster_metrics (cli/ fills it from cluster::Coordinator, which api/ does not
// know); without a cluster the section is absent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/prometheus_text.h"

namespace agentrt::api {

struct ClusterNodeMetrics {
  std::string node;          // label node: its --name ("local" for the server's own engine)
  std::int64_t running = 0;  // its last load report: jobs and completions running
  std::int64_t waiting = 0;  // requests waiting for admission in its engine
  std::int64_t kv_blocks = 0;
  std::int64_t kv_available_blocks = 0;
  std::int64_t jobs_routed = 0;         // job attempts sent to it during its membership
  std::int64_t completions_routed = 0;  // completion attempts sent to it
  std::int64_t turns_routed = 0;        // agent turns and best-of samples (--cluster-route turns)
};

struct ClusterMetrics {
  std::vector<ClusterNodeMetrics> nodes;  // live members
  std::int64_t nodes_refused = 0;
  std::int64_t nodes_lost = 0;
  std::int64_t jobs_moved = 0;
  std::int64_t completions_moved = 0;
};

// Appends the agentrt:cluster_* families.
void render_cluster(PrometheusText& out, const ClusterMetrics& m);

}  // namespace agentrt::api
