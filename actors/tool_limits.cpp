// make_limited_tool: retries with backoff and a concurrency limit around any tool.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "actors/tool.h"

namespace agentrt::actors {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kMaxBackoff{10000};

bool retryable(const Error& e) {
  return e.code == ErrorCode::timeout || e.code == ErrorCode::io || e.code == ErrorCode::overloaded;
}

class LimitedTool final : public Tool {
 public:
  LimitedTool(std::shared_ptr<Tool> inner, ToolLimits limits)
      : inner_(std::move(inner)), limits_(limits), spec_(inner_->spec()) {
    milliseconds total = inner_->spec().timeout * (limits_.retries + 1);
    milliseconds b = limits_.backoff;
    for (int i = 0; i < limits_.retries; ++i, b = std::min(b * 2, kMaxBackoff))
      total += b;
    spec_.timeout = total;
  }
  const ToolSpec& spec() const override { return spec_; }

  Result<std::string> invoke(const Json& args) override {
    const auto deadline = Clock::now() + spec_.timeout;
    if (!acquire(deadline))
      return make_error(ErrorCode::timeout,
                        "waited " + std::to_string(spec_.timeout.count()) + " ms for one of its " +
                            std::to_string(limits_.concurrency) + " concurrent call slots");
    Result<std::string> r = make_error(ErrorCode::internal, "no attempt");
    milliseconds backoff = limits_.backoff;
    int attempts = 0;
    for (int attempt = 0;; ++attempt) {
      ++attempts;
      try {
        r = inner_->invoke(args);
      } catch (const std::exception& e) {
        r = make_error(ErrorCode::internal, std::string("tool threw: ") + e.what());
      }
      if (r.ok() || !retryable(r.error()) || attempt >= limits_.retries ||
          Clock::now() + backoff >= deadline)
        break;
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
    release();
    if (!r.ok() && attempts > 1)
      return r.error().with_context("after " + std::to_string(attempts) + " attempts");
    return r;
  }

 private:
  bool acquire(Clock::time_point deadline) {
    if (limits_.concurrency <= 0) return true;
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [&] { return running_ < limits_.concurrency; }))
      return false;
    ++running_;
    return true;
  }
  void release() {
    if (limits_.concurrency <= 0) return;
    std::lock_guard lock(mu_);
    --running_;
    cv_.notify_one();
  }

  std::shared_ptr<Tool> inner_;
  ToolLimits limits_;
  ToolSpec spec_;
  std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;
};

}  // namespace

std::shared_ptr<Tool> make_limited_tool(std::shared_ptr<Tool> tool, const ToolLimits& limits) {
  return std::make_shared<LimitedTool>(std::move(tool), limits);
}

}  // namespace agentrt::actors
