#include "engine/common/echo.h"

namespace agentrt {

std::string echo_value(std::string_view value, std::size_t max_bytes) {
  if (value.size() <= max_bytes) return std::string(value);
  std::size_t n = max_bytes;
  // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is cut in two.
  while (n > 0 && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80)
    --n;
  return std::string(value.substr(0, n)) + "... (" + std::to_string(value.size()) + " bytes)";
}

}  // namespace agentrt
