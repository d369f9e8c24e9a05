// StopMatcher: finds stop strings in streamed output text. Text is fed as it is decoded;
// the matcher holds back any tail that could still grow into a stop string, so a caller
// never streams text that a later match would cut off.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentrt::sampling {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stop_strings);

  struct Step {
    std::string emit;      // text safe to stream now
    bool stopped = false;  // a stop string matched; emit ends just before it
  };
  // Feeds newly decoded text.
  Step feed(std::string_view text);
  // At the end of generation: the held-back text.
  std::string flush();

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  std::size_t max_len_ = 0;
};

}  // namespace agentrt::sampling
