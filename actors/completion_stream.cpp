// CompletionStream: TokenBatches of n choices turned into events for a waiting thread.
#include "actors/completion_stream.h"

#include "actors/messages.h"

namespace agentrt::actors {

CompletionStream::CompletionStream(int n)
    : n_(n), ids_(static_cast<std::size_t>(n), 0), ended_(static_cast<std::size_t>(n)), open_(n) {}

bool CompletionStream::next(CompletionEvent& out, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_until(lock, deadline, [&] { return !events_.empty() || open_ == 0; })) return false;
  if (events_.empty()) return false;
  out = std::move(events_.front());
  events_.pop_front();
  return true;
}

void CompletionStream::cancel() {
  std::vector<std::pair<int, RequestId>> running;
  std::function<void(int, RequestId)> cancel;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    for (int i = 0; i < n_; ++i)
      if (!ended_[static_cast<std::size_t>(i)])
        running.push_back({i, ids_[static_cast<std::size_t>(i)]});
    cancel = cancel_;
  }
  if (cancel)
    for (auto [choice, id] : running)
      cancel(choice, id);
}

void CompletionStream::push(int choice, const TokenBatch& b) {
  if (choice < 0 || choice >= n_) return;
  CompletionEvent e;
  e.choice = choice;
  e.request = b.id;
  e.tokens.reserve(b.tokens.size());
  for (std::size_t i = 0; i < b.tokens.size(); ++i) {
    CompletionToken t;
    t.token = b.tokens[i];
    t.logprob = i < b.logprobs.size() ? b.logprobs[i] : 0.0f;
    if (i < b.top.size()) t.top = b.top[i];
    e.tokens.push_back(std::move(t));
  }
  e.finish = b.finish;
  e.paused = b.paused_at_eos;
  e.cancelled = b.cancelled;
  e.error = b.error;
  e.cached_tokens = b.cached_tokens;
  std::function<void(int, RequestId)> late_cancel;
  {
    std::lock_guard lock(mu_);
    const auto c = static_cast<std::size_t>(choice);
    if (ended_[c]) return;
    // Cancelled while it waited for a slot, and admitted before the withdrawal: end it now.
    if (cancelled_ && ids_[c] == 0 && b.id != 0 && !e.ends()) late_cancel = cancel_;
    if (b.id != 0) ids_[c] = b.id;
    if (e.ends()) {
      ended_[c] = true;
      --open_;
    }
    events_.push_back(std::move(e));
  }
  cv_.notify_all();
  if (late_cancel) late_cancel(choice, b.id);
}

void CompletionStream::push_error(int choice, const Error& error) {
  TokenBatch b;
  b.error = error;
  push(choice, b);
}

void CompletionStream::set_canceller(std::function<void(int, RequestId)> cancel) {
  std::lock_guard lock(mu_);
  cancel_ = std::move(cancel);
}

}  // namespace agentrt::actors
