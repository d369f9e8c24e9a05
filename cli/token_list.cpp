#include "cli/token_list.h"

#include <charconv>

#include "engine/common/echo.h"

namespace agentrt::cli {

Result<std::vector<std::int32_t>> parse_token_list(std::string_view text) {
  std::vector<std::int32_t> ids;
  std::size_t i = 0;
  int item = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ',' || text[i] == ' ' || text[i] == '\n' ||
                               text[i] == '\t' || text[i] == '\r')) {
      ++i;
    }
    if (i == text.size()) break;
    std::size_t j = i;
    while (j < text.size() && text[j] != ',' && text[j] != ' ' && text[j] != '\n' &&
           text[j] != '\t' && text[j] != '\r') {
      ++j;
    }
    ++item;
    std::string_view word = text.substr(i, j - i);
    std::int32_t v = 0;
    auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec != std::errc() || end != word.data() + word.size() || v < 0) {
      return make_error(ErrorCode::invalid_argument, "item " + std::to_string(item) + " ('" +
                                                         echo_value(word) +
                                                         "'): not a non-negative 32-bit integer");
    }
    ids.push_back(v);
    i = j;
  }
  if (ids.empty()) return make_error(ErrorCode::invalid_argument, "no token ids given");
  return ids;
}

std::string format_token_list(std::span<const std::int32_t> ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ' ';
    out += std::to_string(ids[i]);
  }
  return out;
}

}  // namespace agentrt::cli
