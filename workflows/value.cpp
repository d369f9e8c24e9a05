#include "workflows/value.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "engine/common/json_depth.h"

namespace agentrt::workflows {
namespace {

bool looks_like_json_array(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  return first != std::string::npos && s[first] == '[';
}

// The elements of a JSON array, or nullopt when s is not one. s nests at most kMaxJsonDepth
// (checked by the caller), so dump() recurses at most that deep.
std::optional<std::vector<std::string>> json_items(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(j.size());
  for (const auto& e : j)
    out.push_back(e.is_string() ? e.get<std::string>()
                                : e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return out;
}

std::size_t count_lines(const std::string& s) {
  std::size_t n = 0;
  for (std::size_t pos = 0; pos <= s.size();) {
    auto nl = s.find('\n', pos);
    if (nl == std::string::npos) nl = s.size();
    std::string_view line(s.data() + pos, nl - pos);  // as lines() reads it
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) ++n;
    pos = nl + 1;
  }
  return n;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    auto nl = s.find('\n', pos);
    if (nl == std::string::npos) nl = s.size();
    std::string line = s.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) out.push_back(line);
    pos = nl + 1;
  }
  return out;
}

Error too_many(std::string_view what, std::size_t n) {
  return make_error(ErrorCode::invalid_argument, std::string(what) + ": a list may have at most " +
                                                     std::to_string(kMaxListItems) +
                                                     " items, got " + std::to_string(n));
}

}  // namespace

std::string Value::to_text() const {
  if (!is_list()) return text();
  std::string out;
  for (std::size_t i = 0; i < list().size(); ++i)
    out += (i ? "\n" : "") + list()[i];
  return out;
}

std::vector<std::string> Value::to_list() const {
  if (is_list()) return list();
  const std::string& s = text();
  if (looks_like_json_array(s) && !find_json_depth_excess(s))
    if (auto items = json_items(s)) return std::move(*items);
  return lines(s);
}

Result<std::vector<std::string>> Value::to_items(std::string_view what) const {
  if (is_list()) {
    std::size_t bytes = 0;
    for (const auto& item : list())
      bytes += item.size();
    if (list().size() > kMaxListItems) return too_many(what, list().size());
    if (bytes > kMaxListBytes)
      return make_error(ErrorCode::invalid_argument,
                        std::string(what) + ": a list may hold at most " +
                            std::to_string(kMaxListBytes) + " bytes, got " + std::to_string(bytes));
    return list();
  }
  const std::string& s = text();
  if (s.size() > kMaxListBytes)
    return make_error(ErrorCode::invalid_argument, std::string(what) +
                                                       ": a list may hold at most " +
                                                       std::to_string(kMaxListBytes) +
                                                       " bytes, got " + std::to_string(s.size()));
  if (looks_like_json_array(s)) {
    if (Status st = check_json_depth(s, what); !st.ok()) return st.error();
    if (auto items = json_items(s)) {
      if (items->size() > kMaxListItems) return too_many(what, items->size());
      return std::move(*items);
    }
  }
  if (const std::size_t n = count_lines(s); n > kMaxListItems) return too_many(what, n);
  return lines(s);
}

}  // namespace agentrt::workflows
