// ApiError: what the REST layer answers when a request fails. Every error body is
// {"error": {"code", "message", "pointer"}}: the pointer is a JSON pointer into the request
// body, or file:line:col inside submitted YAML, or empty when no place applies.
#pragma once

#include <nlohmann/json.hpp>

#include <cassert>
#include <string>
#include <variant>

#include "engine/common/result.h"

namespace agentrt::api {

struct ApiError {
  int status = 500;     // the HTTP status
  std::string code;     // machine-readable: invalid_body, invalid_workflow, not_found, ...
  std::string message;  // for people
  std::string pointer;  // JSON pointer or file:line:col; may be empty
  nlohmann::json details = nlohmann::json();  // extra fields (e.g. YAML diagnostics)
  int retry_after = 0;                        // seconds, for 429 and 503 (sent as Retry-After)
};

ApiError api_error(int status, std::string code, std::string message, std::string pointer = "");
// The HTTP status and code for an engine/runtime error (invalid_argument -> 422, overloaded
// -> 429, not_found -> 404, ...).
ApiError from_error(const Error& e, std::string pointer = "");
// The machine-readable name of an error code in REST bodies: "invalid_argument",
// "not_found", "io", "parse", "unsupported", "corrupt", "out_of_memory", "cancelled",
// "overloaded", "timeout", "internal".
const char* code_name(ErrorCode code);
// {"error": {...}} (invalid UTF-8 in messages is replaced, never thrown on).
nlohmann::json to_json(const ApiError& e);

// Holds either a T or an ApiError (Result's shape, for the REST layer).
template <class T>
class [[nodiscard]] ApiOr {
 public:
  ApiOr(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  ApiOr(ApiError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  const ApiError& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, ApiError> v_;
};

}  // namespace agentrt::api
