// ClusterCompletions: the server's OpenAI completions on a cluster. An api::RemoteCompletions
// over the coordinator that ClusterJobs owns: each completion is routed by the coordinator's
// policy and its reply parts come back to the server's relay (api/openai_relay.h).
#pragma once

#include <memory>

#include "api/remote_completions.h"
#include "cli/cluster_jobs.h"

namespace agentrt::cli {

class ClusterCompletions : public api::RemoteCompletions {
 public:
  // Keeps `jobs` (and so its coordinator) alive.
  explicit ClusterCompletions(std::shared_ptr<ClusterJobs> jobs);
  bool available() const override;
  std::uint64_t start(api::RemoteCompletion c, std::function<void(api::RemotePart)> sink) override;
  void cancel(std::uint64_t id) override;

 private:
  std::shared_ptr<ClusterJobs> jobs_;
};

}  // namespace agentrt::cli
