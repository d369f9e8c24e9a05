#include "engine/common/result.h"

namespace agentrt {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid argument";
    case ErrorCode::not_found:
      return "not found";
    case ErrorCode::io:
      return "i/o error";
    case ErrorCode::parse:
      return "parse error";
    case ErrorCode::unsupported:
      return "unsupported";
    case ErrorCode::corrupt:
      return "corrupt data";
    case ErrorCode::out_of_memory:
      return "out of memory";
    case ErrorCode::cancelled:
      return "cancelled";
    case ErrorCode::overloaded:
      return "overloaded";
    case ErrorCode::timeout:
      return "timeout";
    case ErrorCode::internal:
      return "internal error";
  }
  return "unknown error";
}

std::string Error::to_string() const {
  return std::string(agentrt::to_string(code)) + ": " + message;
}

Error Error::with_context(const std::string& context) const {
  return Error{code, context + ": " + message};
}

}  // namespace agentrt
