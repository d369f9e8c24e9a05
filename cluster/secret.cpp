// Secrets and HMAC proofs (secret.h), on OpenSSL's libcrypto.
#include "cluster/secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

namespace agentrt::cluster {
namespace {

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

Result<std::string> checked(std::string secret, const std::string& source) {
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r'))
    secret.pop_back();
  if (secret.size() < kMinSecretBytes)
    return make_error(ErrorCode::invalid_argument, source +
                                                       ": the cluster secret must have at least " +
                                                       std::to_string(kMinSecretBytes) + " bytes");
  return secret;
}

Result<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::io, "cannot read the secret file " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return checked(std::move(text), "secret file " + path);
}

}  // namespace

Result<std::string> load_secret(const std::string& file) {
  if (!file.empty()) return read_secret_file(file);
  if (const char* f = std::getenv("AGENTRT_CLUSTER_SECRET_FILE"); f && *f)
    return read_secret_file(f);
  if (const char* s = std::getenv("AGENTRT_CLUSTER_SECRET"); s && *s)
    return checked(s, "AGENTRT_CLUSTER_SECRET");
  return make_error(ErrorCode::invalid_argument,
                    "no cluster secret: give --secret-file, AGENTRT_CLUSTER_SECRET_FILE or "
                    "AGENTRT_CLUSTER_SECRET");
}

Result<std::string> make_nonce() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    return make_error(ErrorCode::internal, "the random number generator failed");
  return to_hex(bytes, sizeof bytes);
}

std::string prove(const std::string& secret, const std::string& message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &n);
  return to_hex(mac, n);
}

bool check_proof(const std::string& secret, const std::string& message, const std::string& proof) {
  const std::string want = prove(secret, message);
  return proof.size() == want.size() && CRYPTO_memcmp(proof.data(), want.data(), want.size()) == 0;
}

}  // namespace agentrt::cluster
