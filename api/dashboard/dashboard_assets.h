// The web dashboard's static files (index.html, app.js, style.css and the vendored uPlot),
// embedded into the binary at build time (embed.cmake writes dashboard_assets_data.cpp), so
// `agentrt serve` needs nothing beside it. docs/dashboard.md describes the pages.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentrt::api {

struct EmbeddedAsset {
  std::string_view name;  // path under /dashboard/: "app.js", "vendor/uPlot.iife.min.js"
  std::string_view data;
};

// Every embedded file (generated). The views point at static storage.
const std::vector<EmbeddedAsset>& dashboard_assets();

// The body of asset `name`: from AGENTRT_DASHBOARD_DIR/name when that variable names a
// directory holding it (a development override: edit the JavaScript without rebuilding),
// else the embedded copy; nullopt for an unknown name or one with "..", "//" or a leading
// "/".
std::optional<std::string> find_dashboard_asset(std::string_view name);

// The Content-Type for an asset name by its extension (".js": text/javascript; charset=utf-8,
// ...); application/octet-stream for an unknown extension.
const char* dashboard_content_type(std::string_view name);

}  // namespace agentrt::api
