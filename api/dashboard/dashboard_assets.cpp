// Looking up the dashboard's embedded files, with the AGENTRT_DASHBOARD_DIR override.
#include "api/dashboard/dashboard_assets.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace agentrt::api {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool safe_name(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos ||
      name.find("//") != std::string_view::npos || name.find('\\') != std::string_view::npos)
    return false;
  return true;
}

std::optional<std::string> from_override_dir(std::string_view name) {
  const char* dir = std::getenv("AGENTRT_DASHBOARD_DIR");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  const std::filesystem::path p = std::filesystem::path(dir) / std::string(name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::optional<std::string> find_dashboard_asset(std::string_view name) {
  if (!safe_name(name)) return std::nullopt;
  for (const auto& a : dashboard_assets()) {
    if (a.name != name) continue;
    if (auto dev = from_override_dir(name)) return dev;
    return std::string(a.data);
  }
  return std::nullopt;
}

const char* dashboard_content_type(std::string_view name) {
  if (ends_with(name, ".html")) return "text/html; charset=utf-8";
  if (ends_with(name, ".js")) return "text/javascript; charset=utf-8";
  if (ends_with(name, ".css")) return "text/css; charset=utf-8";
  if (ends_with(name, ".txt")) return "text/plain; charset=utf-8";
  if (ends_with(name, ".svg")) return "image/svg+xml";
  if (ends_with(name, ".png")) return "image/png";
  return "application/octet-stream";
}

}  // namespace agentrt::api
