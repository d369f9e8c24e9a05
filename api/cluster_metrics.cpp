// The cluster section of GET /metrics (cluster_metrics.h).
#include "api/cluster_metrics.h"

#include <array>

namespace agentrt::api {

void render_cluster(PrometheusText& out, const ClusterMetrics& m) {
  out.family("agentrt:cluster_nodes", MetricType::gauge,
             "Live members of the cluster (workers, and the server's engine when it is one).");
  out.sample("agentrt:cluster_nodes", {}, static_cast<std::int64_t>(m.nodes.size()));

  using Field = std::int64_t ClusterNodeMetrics::*;
  struct PerNode {
    const char* name;
    MetricType type;
    const char* help;
    Field field;
  };
  static const std::array<PerNode, 7> kPerNode{{
      {"agentrt:cluster_node_running", MetricType::gauge,
       "Jobs and completions a node runs, from its last load report.",
       &ClusterNodeMetrics::running},
      {"agentrt:cluster_node_waiting", MetricType::gauge,
       "Requests waiting for admission in a node's engine, from its last load report.",
       &ClusterNodeMetrics::waiting},
      {"agentrt:cluster_node_kv_blocks", MetricType::gauge,
       "A node's device KV blocks (0 when it does not report them).",
       &ClusterNodeMetrics::kv_blocks},
      {"agentrt:cluster_node_kv_available_blocks", MetricType::gauge,
       "A node's device KV blocks not held by live requests or pins.",
       &ClusterNodeMetrics::kv_available_blocks},
      {"agentrt:cluster_node_jobs_routed_total", MetricType::counter,
       "Job attempts the coordinator sent to a node during its membership.",
       &ClusterNodeMetrics::jobs_routed},
      {"agentrt:cluster_node_completions_routed_total", MetricType::counter,
       "OpenAI completion attempts the coordinator sent to a node during its membership.",
       &ClusterNodeMetrics::completions_routed},
      {"agentrt:cluster_node_turns_routed_total", MetricType::counter,
       "Agent turns and best-of samples the coordinator sent to a node's engine during its "
       "membership (--cluster-route turns).",
       &ClusterNodeMetrics::turns_routed},
  }};
  for (const auto& f : kPerNode) {
    out.family(f.name, f.type, f.help);
    for (const auto& n : m.nodes)
      out.sample(f.name, {{"node", n.node}}, n.*f.field);
  }

  const std::array<std::tuple<const char*, const char*, std::int64_t>, 4> totals{{
      {"agentrt:cluster_nodes_refused_total", "Joins refused: a wrong secret or protocol version.",
       m.nodes_refused},
      {"agentrt:cluster_nodes_lost_total",
       "Members declared dead: a dropped connection or missed heartbeats.", m.nodes_lost},
      {"agentrt:cluster_jobs_moved_total",
       "Job attempts moved to another node after theirs was lost.", m.jobs_moved},
      {"agentrt:cluster_completions_moved_total",
       "Completions moved to another node after theirs was lost before any reply bytes.",
       m.completions_moved},
  }};
  for (const auto& [name, help, value] : totals) {
    out.family(name, MetricType::counter, help);
    out.sample(name, {}, value);
  }
}

}  // namespace agentrt::api
