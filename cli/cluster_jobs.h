// ClusterJobs: the server's jobs on a cluster. An api::RemoteJobs over a
// cluster::Coordinator: checkpoints come back as the runner's step_done / unit_done hooks
// and the result as a WorkflowOutcome, so the job manager keeps its store as for a local run.
#pragma once

#include <memory>

#include "api/cluster_metrics.h"
#include "api/remote_jobs.h"
#include "cluster/coordinator.h"

namespace agentrt::cli {

class ClusterJobs : public api::RemoteJobs {
 public:
  explicit ClusterJobs(std::unique_ptr<cluster::Coordinator> coordinator);
  bool available() const override;
  void start(api::RemoteJob job) override;
  void cancel(const std::string& id) override;
  cluster::Coordinator& coordinator() { return *coordinator_; }
  // The live nodes' load and routed attempts and the coordinator's counters, for /metrics.
  api::ClusterMetrics metrics() const;

 private:
  std::unique_ptr<cluster::Coordinator> coordinator_;
};

}  // namespace agentrt::cli
