// Clock: the time source of the KV manager (LRU order, pin TTLs) and the scheduler, injected
// so tests drive time by hand instead of sleeping. now() is called from the engine thread.
#pragma once

#include <chrono>

namespace agentrt::kv {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic: never goes backwards.
  virtual TimePoint now() const = 0;
};

// std::chrono::steady_clock.
class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told to (tests, simulations).
class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }

 private:
  TimePoint now_{};
};

}  // namespace agentrt::kv
