// The web dashboard's routes (docs/dashboard.md): GET / (the page), GET /dashboard/NAME (its
// scripts, styles and the vendored chart library, embedded in the binary) and
// GET /v1/jobs/{id}/graph (a job's step graph, for the DAG view).
#pragma once

#include <string>

#include "api/server_impl.h"

namespace agentrt::api {

// Installs the routes on impl.http. Call once, before the server listens.
void install_dashboard_routes(Server::Impl& impl);

// Whether `path` is one of the dashboard's static files ("/" or "/dashboard/..."): these hold
// no data and are served without an API key, so a browser can load the page; everything the
// page reads (/v1/..., /metrics) needs the key as usual.
bool is_dashboard_asset_path(const std::string& path);

}  // namespace agentrt::api
