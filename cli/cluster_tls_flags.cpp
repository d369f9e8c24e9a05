// The cluster's TLS flags (cluster_tls_flags.h).
#include "cli/cluster_tls_flags.h"

namespace agentrt::cli {

void add_cluster_tls_options(CLI::App* cmd, const std::string& prefix, cluster::TlsFiles& out,
                             CLI::Option* needs) {
  auto* cert = cmd->add_option(prefix + "cert", out.cert,
                               "TLS for the cluster link: this side's certificate (PEM; also " +
                                   prefix + "key and " + prefix + "ca)");
  auto* key = cmd->add_option(prefix + "key", out.key,
                              "TLS: the certificate's private key (PEM, no "
                              "passphrase)");
  auto* ca = cmd->add_option(prefix + "ca", out.ca,
                             "TLS: the CA certificate that signs every member of the cluster; "
                             "peers without a certificate it signed are refused");
  for (auto* o : {cert, key, ca}) {
    for (auto* other : {cert, key, ca})
      if (other != o) o->needs(other);
    if (needs != nullptr) o->needs(needs);
  }
}

}  // namespace agentrt::cli
