// to_openai_json: ApiError in the OpenAI error shape (declared in openai_request.h).
#include "api/body/openai_request.h"

namespace agentrt::api {

const char* openai_error_type(int status) {
  switch (status) {
    case 400:
    case 413:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 409:
      return "conflict_error";
    case 429:
      return "rate_limit_error";
    case 503:
      return "overloaded_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

nlohmann::json to_openai_json(const ApiError& e) {
  nlohmann::json param = nullptr;
  if (!e.pointer.empty()) param = e.pointer.front() == '/' ? e.pointer.substr(1) : e.pointer;
  nlohmann::json code = nullptr;
  if (!e.code.empty()) code = e.code;
  return {{"error",
           {{"message", e.message},
            {"type", openai_error_type(e.status)},
            {"param", std::move(param)},
            {"code", std::move(code)}}}};
}

}  // namespace agentrt::api
