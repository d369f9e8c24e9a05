#include "api/body/api_error.h"

namespace agentrt::api {

ApiError api_error(int status, std::string code, std::string message, std::string pointer) {
  ApiError e;
  e.status = status;
  e.code = std::move(code);
  e.message = std::move(message);
  e.pointer = std::move(pointer);
  return e;
}

const char* code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return "invalid_argument";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::io:
      return "io";
    case ErrorCode::parse:
      return "parse";
    case ErrorCode::unsupported:
      return "unsupported";
    case ErrorCode::corrupt:
      return "corrupt";
    case ErrorCode::out_of_memory:
      return "out_of_memory";
    case ErrorCode::cancelled:
      return "cancelled";
    case ErrorCode::overloaded:
      return "overloaded";
    case ErrorCode::timeout:
      return "timeout";
    case ErrorCode::internal:
      return "internal";
  }
  return "internal";
}

ApiError from_error(const Error& e, std::string pointer) {
  int status = 500;
  switch (e.code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::parse:
    case ErrorCode::unsupported:
      status = 422;
      break;
    case ErrorCode::not_found:
      status = 404;
      break;
    case ErrorCode::overloaded:
    case ErrorCode::out_of_memory:
      status = 429;
      break;
    case ErrorCode::cancelled:
      status = 409;
      break;
    case ErrorCode::timeout:
      status = 504;
      break;
    case ErrorCode::io:
    case ErrorCode::corrupt:
    case ErrorCode::internal:
      status = 500;
      break;
  }
  ApiError a = api_error(status, code_name(e.code), e.message, std::move(pointer));
  if (status == 429) a.retry_after = 1;
  return a;
}

nlohmann::json to_json(const ApiError& e) {
  nlohmann::json inner = {{"code", e.code}, {"message", e.message}, {"pointer", e.pointer}};
  if (e.details.is_object())
    for (const auto& [k, v] : e.details.items())
      inner[k] = v;
  return {{"error", std::move(inner)}};
}

}  // namespace agentrt::api
