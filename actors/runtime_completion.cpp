// Runtime: raw completions (the OpenAI API's path). One sink actor per choice forwards the
// engine loop's batches to the caller's CompletionStream.
#include <caf/all.hpp>

#include "actors/completion_stream.h"
#include "actors/messages.h"
#include "actors/runtime.h"
#include "actors/runtime_impl.h"
#include "engine/kv/block_key.h"

namespace agentrt::actors {
namespace {

// Forwards one choice's batches; quits after the batch that ends it. Holds the stream
// weakly: a caller that has gone away drops the rest.
caf::behavior completion_sink(caf::event_based_actor* self, std::weak_ptr<CompletionStream> stream,
                              int choice) {
  return {[self, stream, choice](TokenBatch& b) {
    const bool ends = b.finish.has_value() || b.cancelled || b.error.has_value();
    if (auto s = stream.lock()) s->push(choice, b);
    if (ends) self->quit();
  }};
}

}  // namespace

Result<std::shared_ptr<CompletionStream>> Runtime::start_completion(CompletionRequest req) {
  if (req.n < 1 || req.n > kMaxBestOfSamples)
    return make_error(ErrorCode::invalid_argument, "n: must be in [1, " +
                                                       std::to_string(kMaxBestOfSamples) +
                                                       "], got " + std::to_string(req.n));
  auto stream = std::make_shared<CompletionStream>(req.n);
  std::vector<caf::actor> sinks;
  sinks.reserve(static_cast<std::size_t>(req.n));
  for (int i = 0; i < req.n; ++i)
    sinks.push_back(impl_->sys->spawn(completion_sink, std::weak_ptr<CompletionStream>(stream), i));
  std::weak_ptr<EngineLoop> loop = impl_->loop;
  stream->set_canceller([loop, sinks](int choice, RequestId id) {
    auto l = loop.lock();
    if (!l) return;
    if (id != 0) return l->cancel(id);
    // Still waiting for a slot; if it was admitted meanwhile, its first batch cancels it.
    l->cancel_waiting(sinks[static_cast<std::size_t>(choice)]);
  });
  GenerateMsg msg;
  msg.request = std::move(req.request);
  msg.pause_at_eos = req.pause_at_eos;
  if (req.n > 1) msg.samples_after_prefill = req.n;
  msg.subscribers = sinks;
  if (impl_->opt.on_generate) impl_->opt.on_generate(msg.request);
  auto id = impl_->loop->submit(std::move(msg));
  if (!id.ok()) {
    for (auto& s : sinks)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    return id.error();
  }
  return stream;
}

void Runtime::cancel_request(RequestId id) {
  impl_->loop->cancel(id);
}

KvGeometry Runtime::kv_geometry() const {
  return impl_->backend->kv_geometry();
}

std::string Runtime::kv_key_fingerprint() const {
  return kv::layout_fingerprint(impl_->model->fingerprint(), impl_->backend->kv_layout());
}

int Runtime::max_context() const {
  return impl_->model->config().max_context();
}

}  // namespace agentrt::actors
