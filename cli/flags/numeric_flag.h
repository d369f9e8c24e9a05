// Parsing one numeric flag's text with its bounds. Decimal text only: no spaces, no '+', no
// hex; reals must be finite. Errors (invalid_argument) name the flag, the range and the value
// as given (cut to kMaxEchoBytes): "--max-tokens: must be an integer in [1, 1048576], got
// '2147483647'".
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/common/result.h"

namespace agentrt::cli::flags {

struct IntRange {
  std::int64_t min = 0;
  std::int64_t max = 0;
};

struct RealRange {
  double min = 0.0;
  double max = 0.0;
  bool min_exclusive = false;  // (min, max] instead of [min, max]
};

// An integer in [range.min, range.max].
[[nodiscard]] Result<std::int64_t> parse_int_flag(std::string_view flag, std::string_view text,
                                                  IntRange range);

// Any unsigned 64-bit integer, 0 .. 18446744073709551615 (seeds); negatives are refused.
[[nodiscard]] Result<std::uint64_t> parse_uint64_flag(std::string_view flag, std::string_view text);

// A finite real in the range; values too small for a double read as 0.
[[nodiscard]] Result<double> parse_real_flag(std::string_view flag, std::string_view text,
                                             RealRange range);

// parse_real_flag's value as a float, which must itself lie in the range (1e-50 is in
// (0, 1] as a double but 0 as a float).
[[nodiscard]] Result<float> parse_float_flag(std::string_view flag, std::string_view text,
                                             RealRange range);

}  // namespace agentrt::cli::flags
