#include "cli/flags/numeric_flag.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "engine/common/echo.h"

namespace agentrt::cli::flags {
namespace {

std::string format_real(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Error bad(std::string_view flag, const std::string& rule, std::string_view text) {
  return make_error(ErrorCode::invalid_argument,
                    std::string(flag) + ": must be " + rule + ", got '" + echo_value(text) + "'");
}

std::string int_rule(IntRange r) {
  return "an integer in [" + std::to_string(r.min) + ", " + std::to_string(r.max) + "]";
}

std::string real_rule(RealRange r) {
  return "a finite number in " + std::string(r.min_exclusive ? "(" : "[") + format_real(r.min) +
         ", " + format_real(r.max) + "]";
}

// The text's value, or NaN when it is not a decimal real. from_chars reports overflow and
// underflow alike as out of range; strtod then tells them apart (HUGE_VAL or a tiny value).
double read_real(std::string_view text) {
  double v = 0.0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v, std::chars_format::general);
  if (ptr != end || text.empty()) return std::numeric_limits<double>::quiet_NaN();
  if (ec == std::errc::result_out_of_range) return std::strtod(std::string(text).c_str(), nullptr);
  if (ec != std::errc()) return std::numeric_limits<double>::quiet_NaN();
  return v;
}

}  // namespace

Result<std::int64_t> parse_int_flag(std::string_view flag, std::string_view text, IntRange range) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ptr != end || ec != std::errc() || v < range.min || v > range.max)
    return bad(flag, int_rule(range), text);
  return v;
}

Result<std::uint64_t> parse_uint64_flag(std::string_view flag, std::string_view text) {
  std::uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ptr != end || ec != std::errc()) {
    return bad(
        flag,
        "an integer in [0, " + std::to_string(std::numeric_limits<std::uint64_t>::max()) + "]",
        text);
  }
  return v;
}

Result<double> parse_real_flag(std::string_view flag, std::string_view text, RealRange range) {
  const double v = read_real(text);
  const bool above_min = range.min_exclusive ? v > range.min : v >= range.min;
  if (!std::isfinite(v) || !above_min || v > range.max) return bad(flag, real_rule(range), text);
  return v;
}

Result<float> parse_float_flag(std::string_view flag, std::string_view text, RealRange range) {
  auto v = parse_real_flag(flag, text, range);
  if (!v.ok()) return v.error();
  const float f = static_cast<float>(*v);
  const bool above_min = range.min_exclusive ? f > range.min : f >= range.min;
  if (!std::isfinite(f) || !above_min || f > range.max) return bad(flag, real_rule(range), text);
  return f;
}

}  // namespace agentrt::cli::flags
