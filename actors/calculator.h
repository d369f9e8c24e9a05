// Calculator: the built-in `calculator` tool. A recursive-descent parser over integer
// literals, + - * /, parentheses and unary minus (usual precedence, left-associative);
// nothing is ever evaluated as code. Results are exact: "/" is exact division, and any
// literal or intermediate value with |v| >= 10^15 is refused. It returns the same strings
// as the reference, models/train/calculator.py.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/common/result.h"

namespace agentrt::actors {

// The value, or an error whose message is one of "invalid expression", "division by
// zero", "inexact division", "number too large" (the model sees "error: " + message).
Result<std::int64_t> evaluate_expression(std::string_view text);

}  // namespace agentrt::actors
