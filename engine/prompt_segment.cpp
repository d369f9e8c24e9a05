#include "engine/prompt_segment.h"

#include <string>

namespace agentrt {

Status check_segments(std::span<const PromptSegment> segments, std::int64_t prompt_size) {
  std::int64_t previous_end = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const PromptSegment& s = segments[i];
    const std::string name = "segments[" + std::to_string(i) + "] [" + std::to_string(s.begin) +
                             ", " + std::to_string(s.end) + ")";
    if (s.begin < 0 || s.end <= s.begin || s.end > prompt_size) {
      return make_error(ErrorCode::invalid_argument,
                        name + ": must be non-empty and inside the prompt of " +
                            std::to_string(prompt_size) + " tokens");
    }
    if (s.begin < previous_end) {
      return make_error(ErrorCode::invalid_argument,
                        name + ": overlaps or precedes segments[" + std::to_string(i - 1) +
                            "] (segments must be sorted and disjoint)");
    }
    previous_end = s.end;
  }
  return ok_status();
}

}  // namespace agentrt
