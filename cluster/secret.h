// The cluster's shared secret and the proofs built on it. A secret comes from a file
// (--secret-file, or AGENTRT_CLUSTER_SECRET_FILE) or AGENTRT_CLUSTER_SECRET; it is never
// logged or sent: each side proves it with HMAC-SHA256 over a fresh nonce of the other.
#pragma once

#include <string>

#include "engine/common/result.h"

namespace agentrt::cluster {

// A secret shorter than this is refused (a guessable secret guards nothing).
inline constexpr std::size_t kMinSecretBytes = 16;

// The secret: the file's contents (trailing newlines dropped) when `file` is given, else
// $AGENTRT_CLUSTER_SECRET_FILE's, else $AGENTRT_CLUSTER_SECRET. Errors: none given
// (invalid_argument), an unreadable file (io), one shorter than kMinSecretBytes
// (invalid_argument). Messages never contain the secret.
Result<std::string> load_secret(const std::string& file);

// 32 random bytes as hex (OpenSSL RAND_bytes). Errors: internal when the RNG fails.
Result<std::string> make_nonce();
// hex HMAC-SHA256(secret, message).
std::string prove(const std::string& secret, const std::string& message);
// Whether `proof` is prove(secret, message), compared in constant time.
bool check_proof(const std::string& secret, const std::string& message, const std::string& proof);

}  // namespace agentrt::cluster
