// Errors as values: every fallible call at a module boundary returns Result<T> or Status.
// An Error carries a category and a message that names the input and the place
// ("model.safetensors: tensor 'lm_head.weight': ...").
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace agentrt {

enum class ErrorCode {
  invalid_argument,  // the caller passed something malformed
  not_found,         // a file, tensor, key or id does not exist
  io,                // the OS refused a read, write or map
  parse,             // text or bytes do not follow their format
  unsupported,       // well-formed, but this engine cannot honour it
  corrupt,           // stored data failed a checksum or self-consistency check
  out_of_memory,     // a pool or budget is exhausted
  cancelled,
  overloaded,
  timeout,
  internal,  // a bug: an invariant broke
};

const char* to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;

  // "parse: config.json: /hidden_size: expected an integer"
  std::string to_string() const;
  // Returns a copy whose message is "<context>: <message>".
  Error with_context(const std::string& context) const;
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

// Holds either a T or an Error. Accessing the wrong alternative is a bug (asserted).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

// Result for calls that return nothing on success.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error)
      : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }
  // Explicitly drops an error that the caller has decided not to handle (greppable).
  void permit_unchecked() const {}

 private:
  Error error_;
  bool ok_ = true;
};

inline Status ok_status() {
  return Status();
}

}  // namespace agentrt

// Returns early from the enclosing function with the error of a failed Status/Result.
#define AGENTRT_TRY(expr)                                              \
  do {                                                                 \
    auto&& agentrt_try_result_ = (expr);                               \
    if (!agentrt_try_result_.ok()) return agentrt_try_result_.error(); \
  } while (false)
