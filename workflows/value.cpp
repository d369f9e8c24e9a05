#include "workflows/value.h"

#include <nlohmann/json.hpp>

namespace agentrt::workflows {

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
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && s[first] == '[') {
    auto j = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
    if (j.is_array()) {
      std::vector<std::string> out;
      for (const auto& e : j)
        out.push_back(e.is_string() ? e.get<std::string>() : e.dump());
      return out;
    }
  }
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

}  // namespace agentrt::workflows
