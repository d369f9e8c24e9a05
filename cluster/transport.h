// How the coordinator listens and a node connects: CAF's BASP over plain TCP, or over TLS
// with CAF's OpenSSL module (libcaf_openssl 0.17) when certificate files are given. The shared
// secret's handshake (secret.h) runs on top either way.
//
// TLS in CAF 0.17 is mutual: each side presents its certificate and requires one from the
// peer that chains to the CA file (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT). No
// host name is checked: any certificate the CA signed is a member, so give the cluster a CA
// of its own.
#pragma once

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "engine/common/result.h"

namespace agentrt::cluster {

// PEM files: this side's certificate (a chain, leaf first), its private key (unencrypted), and
// the CA that signs every member's certificate. All empty: plain TCP.
struct TlsFiles {
  std::string cert;
  std::string key;
  std::string ca;
  bool enabled() const { return !cert.empty() || !key.empty() || !ca.empty(); }
};

// Checks the files before CAF reads them (CAF 0.17 aborts the process from its network thread
// on a file it cannot load): all three given; each readable; the certificate, key and CA parse
// as PEM; the key is the certificate's; the certificate chains to the CA and is valid now.
// Errors (invalid_argument, io) name the file: "cert.pem: not a PEM certificate".
Status check_tls_files(const TlsFiles& tls);

// Loads CAF's OpenSSL module with the files when `tls.enabled()` (after configure_wire, which
// loads the middleman). Check the files first.
void configure_transport(caf::actor_system_config& cfg, const TlsFiles& tls);

// Publishes `whom` on bind:port (0: any free port) over TLS when `tls`, else plain TCP.
// Returns the bound port. Errors: io, with CAF's reason.
Result<std::uint16_t> publish_on(const caf::actor& whom, std::uint16_t port,
                                 const std::string& bind, bool tls);

// Connects to the actor published on host:port, over TLS when `tls`, waiting at most
// `timeout` for the connection and BASP's handshake (a plain client waits forever on a TLS
// server otherwise). Errors: io, with CAF's reason or the timeout.
Result<caf::actor> connect_to(caf::actor_system& system, const std::string& host,
                              std::uint16_t port, bool tls, std::chrono::milliseconds timeout);

}  // namespace agentrt::cluster
