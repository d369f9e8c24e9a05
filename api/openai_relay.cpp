// OpenAiRelay (openai_relay.h): the inbox of remote parts, the head wait and the byte relay.
#include "api/openai_relay.h"

#include <nlohmann/json.hpp>

namespace agentrt::api {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

ApiError relayed_error(int status, const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  const auto e = j.is_object() && j.contains("error") && j["error"].is_object()
                     ? j["error"]
                     : nlohmann::json::object();
  auto text = [&](const char* key) {
    const auto it = e.find(key);
    return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string param = text("param");
  ApiError a = api_error(status, text("code"), text("message"), param.empty() ? "" : "/" + param);
  if (a.message.empty()) a.message = "the cluster node failed the request";
  if (a.status == 429 || a.status == 503) a.retry_after = 1;
  return a;
}

OpenAiRelay::OpenAiRelay(RemoteCompletions& remote, bool stream)
    : remote_(remote), stream_(stream) {}

OpenAiRelay::~OpenAiRelay() {
  if (!ended_) remote_.cancel(id_);
}

ApiOr<std::shared_ptr<OpenAiRelay>> OpenAiRelay::start(RemoteCompletions& remote,
                                                       RemoteCompletion c, bool stream) {
  std::shared_ptr<OpenAiRelay> r(new OpenAiRelay(remote, stream));
  r->id_ = remote.start(std::move(c), [inbox = r->inbox_](RemotePart p) {
    {
      std::lock_guard lock(inbox->mu);
      inbox->parts.push_back(std::move(p));
    }
    inbox->cv.notify_one();
  });
  auto head = r->next(Clock::now() + kFirstEventWait);
  if (!head)
    return api_error(503, "timeout", "no cluster node admitted the request within 10 minutes");
  if (head->kind == RemotePart::Kind::error) {
    r->ended_ = true;
    return relayed_error(head->status, head->bytes);
  }
  if (head->kind != RemotePart::Kind::head)
    return api_error(502, "bad_gateway", "the cluster node's reply began without a head");
  r->node_ = head->node;
  return r;
}

std::optional<RemotePart> OpenAiRelay::next(Clock::time_point deadline) {
  std::unique_lock lock(inbox_->mu);
  if (!inbox_->cv.wait_until(lock, deadline, [&] { return !inbox_->parts.empty(); }))
    return std::nullopt;
  RemotePart p = std::move(inbox_->parts.front());
  inbox_->parts.pop_front();
  return p;
}

void OpenAiRelay::run(const ReplyWriter& write) {
  auto last_write = Clock::now();
  bool wrote = false;  // reply bytes, not heartbeats
  while (!ended_) {
    auto p = next(Clock::now() + std::chrono::milliseconds(500));
    if (!p) {
      if (Clock::now() - last_write < kHeartbeat) continue;
      last_write = Clock::now();
      if (!write(stream_ ? ": keep-alive\n\n" : " ")) return;  // ~OpenAiRelay cancels
      continue;
    }
    switch (p->kind) {
      case RemotePart::Kind::head:  // moved to another node before any bytes
        node_ = p->node;
        break;
      case RemotePart::Kind::bytes:
        last_write = Clock::now();
        wrote = true;
        if (!write(p->bytes)) return;
        break;
      case RemotePart::Kind::end:
        ended_ = true;
        break;
      case RemotePart::Kind::error: {
        ended_ = true;
        const ApiError e = relayed_error(p->status, p->bytes);
        if (stream_) {
          const nlohmann::json frame = {{"error", to_openai_json(e)["error"]}};
          write("data: " + frame.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                "\n\ndata: [DONE]\n\n");
        } else if (!wrote) {
          write(to_openai_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        }
        break;
      }
    }
  }
}

}  // namespace agentrt::api
