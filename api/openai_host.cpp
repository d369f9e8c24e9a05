// OpenAiHost (openai_host.h): parse, start, and the session reaper.
#include "api/openai_host.h"

#include "api/body/openai_request.h"

namespace agentrt::api {

OpenAiHost::OpenAiHost(actors::Runtime* runtime, SessionOptions sessions)
    : runtime_(runtime), sessions_(std::move(sessions)) {
  reaper_ = std::thread([this] { reap(); });
}

OpenAiHost::~OpenAiHost() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
  reaper_.join();
}

void OpenAiHost::reap() {
  std::unique_lock lock(mu_);
  while (!stopped_) {
    cv_.wait_for(lock, kSessionReapPeriod);
    for (const auto& turn : sessions_.expire())
      runtime_->cancel_request(turn.request);
  }
}

ApiOr<std::unique_ptr<OpenAiCall>> OpenAiHost::start(const OpenAiHostCall& call) {
  auto parsed = parse_openai_request(call.body, call.endpoint);
  if (!parsed.ok()) return parsed.error();
  OpenAiDeps deps;
  deps.runtime = runtime_;
  deps.model = call.model;
  deps.sessions = &sessions_;
  deps.metrics = &metrics_;
  deps.client = call.client;
  deps.enable_thinking = call.enable_thinking;
  deps.session_header = call.session_header;
  return OpenAiCall::start(std::move(*parsed), std::move(deps));
}

}  // namespace agentrt::api
