#include "engine/finish_reason.h"

namespace agentrt {

const char* to_string(FinishReason reason) {
  switch (reason) {
    case FinishReason::length:
      return "length";
    case FinishReason::stop_token:
      return "stop_token";
    case FinishReason::stop_string:
      return "stop_string";
    case FinishReason::context_full:
      return "context_full";
  }
  return "unknown";
}

}  // namespace agentrt
