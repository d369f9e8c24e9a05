// Echoing user text in messages: a value a user gave (an input, a file's content, a request
// field) is shown cut to kMaxEchoBytes, so an error never prints a whole file or body.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace agentrt {

// The most bytes of a user value that an error message shows (docs/limits.md).
inline constexpr std::size_t kMaxEchoBytes = 200;

// value itself when at most max_bytes long; else its first max_bytes bytes (cut back to a
// UTF-8 character boundary) followed by "... (N bytes)".
std::string echo_value(std::string_view value, std::size_t max_bytes = kMaxEchoBytes);

}  // namespace agentrt
