// The TLS flags of the cluster link, the same on both ends: `serve --cluster-tls-cert/-key/-ca`
// and `node --tls-cert/-key/-ca` (cluster/transport.h checks the files themselves).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cluster/transport.h"

namespace agentrt::cli {

// Registers PREFIXcert, PREFIXkey and PREFIXca on `cmd`, into `out` (which must outlive
// parsing). Each needs the other two, and `needs` too when given (a usage error otherwise).
void add_cluster_tls_options(CLI::App* cmd, const std::string& prefix, cluster::TlsFiles& out,
                             CLI::Option* needs = nullptr);

}  // namespace agentrt::cli
