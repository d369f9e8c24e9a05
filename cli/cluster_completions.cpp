// ClusterCompletions (cluster_completions.h): an OpenAI call between the server's and the
// coordinator's types.
#include "cli/cluster_completions.h"

namespace agentrt::cli {

ClusterCompletions::ClusterCompletions(std::shared_ptr<ClusterJobs> jobs)
    : jobs_(std::move(jobs)) {}

bool ClusterCompletions::available() const {
  return !jobs_->coordinator().nodes().empty();
}

std::uint64_t ClusterCompletions::start(api::RemoteCompletion c,
                                        std::function<void(api::RemotePart)> sink) {
  cluster::ClusterCompletion cc;
  cc.call.endpoint = c.endpoint == api::OpenAiEndpoint::completions ? 1 : 0;
  cc.call.body = std::move(c.body);
  cc.call.model = std::move(c.model);
  cc.call.client = std::move(c.client);
  cc.call.has_session_header = c.session_header.has_value();
  cc.call.session_header = c.session_header.value_or("");
  cc.call.thinking = c.enable_thinking ? (*c.enable_thinking ? 1 : 0) : -1;
  cc.blocks = std::move(c.blocks);
  cc.program = std::move(c.program);
  cc.prompt_tokens = c.prompt_tokens;
  cc.run_here = std::move(c.run_here);
  return jobs_->coordinator().submit_completion(
      std::move(cc),
      [sink = std::move(sink)](const cluster::CompletionPart& p, const std::string& node) {
        using K = api::RemotePart::Kind;
        static constexpr K kinds[] = {K::head, K::error, K::bytes, K::end};
        sink(api::RemotePart{kinds[p.kind], p.status, p.bytes, node});
      });
}

void ClusterCompletions::cancel(std::uint64_t id) {
  jobs_->coordinator().cancel_completion(id);
}

}  // namespace agentrt::cli
