#include "engine/sampling/stop_matcher.h"

#include <algorithm>
#include <utility>

namespace agentrt::sampling {

StopMatcher::StopMatcher(std::vector<std::string> stop_strings) {
  for (auto& s : stop_strings) {
    if (s.empty()) continue;  // an empty stop string would match everywhere
    max_len_ = std::max(max_len_, s.size());
    stops_.push_back(std::move(s));
  }
}

StopMatcher::Step StopMatcher::feed(std::string_view text) {
  pending_.append(text);
  Step step;
  // Earliest match wins; pending_ never holds a complete stop string before this feed.
  std::size_t best = std::string::npos;
  for (const auto& s : stops_)
    best = std::min(best, pending_.find(s));
  if (best != std::string::npos) {
    step.emit = pending_.substr(0, best);
    step.stopped = true;
    pending_.clear();
    return step;
  }
  // Hold back the longest tail that is a proper prefix of some stop string.
  std::size_t hold = 0;
  const std::size_t limit = std::min(pending_.size(), max_len_ == 0 ? 0 : max_len_ - 1);
  for (std::size_t len = limit; len > 0 && hold == 0; --len) {
    std::string_view tail(pending_.data() + pending_.size() - len, len);
    for (const auto& s : stops_) {
      if (s.size() > len && std::string_view(s).substr(0, len) == tail) {
        hold = len;
        break;
      }
    }
  }
  step.emit = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return step;
}

std::string StopMatcher::flush() {
  return std::exchange(pending_, std::string());
}

}  // namespace agentrt::sampling
