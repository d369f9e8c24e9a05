// Plain or TLS transport for the cluster link (transport.h): the certificate checks on
// OpenSSL, and CAF's middleman or OpenSSL manager for publish and connect.
#include "cluster/transport.h"

#include <dlfcn.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/all.hpp>
#include <memory>

#include "engine/common/file_read.h"

// CAF 0.17's TLS sessions (libcaf_openssl) call SSL_get_error after SSL_read, SSL_write,
// SSL_accept and SSL_connect without emptying the thread's error queue first, which OpenSSL
// requires. Every connection of a process runs on CAF's one multiplexer thread, so the error
// one peer's failed handshake left in the queue made the next "want read" of every other
// connection look fatal: each stranger knocking at the port disconnected the members. These
// definitions take the place of libssl's for the whole process (an executable's symbols come
// first, and libcaf_openssl.so's references make the linker export them): each empties the
// queue, then calls libssl's own.
extern "C" {
int SSL_read(SSL* ssl, void* buf, int num) {
  static const auto real =
      reinterpret_cast<int (*)(SSL*, void*, int)>(dlsym(RTLD_NEXT, "SSL_read"));
  ERR_clear_error();
  return real(ssl, buf, num);
}
int SSL_write(SSL* ssl, const void* buf, int num) {
  static const auto real =
      reinterpret_cast<int (*)(SSL*, const void*, int)>(dlsym(RTLD_NEXT, "SSL_write"));
  ERR_clear_error();
  return real(ssl, buf, num);
}
int SSL_accept(SSL* ssl) {
  static const auto real = reinterpret_cast<int (*)(SSL*)>(dlsym(RTLD_NEXT, "SSL_accept"));
  ERR_clear_error();
  return real(ssl);
}
int SSL_connect(SSL* ssl) {
  static const auto real = reinterpret_cast<int (*)(SSL*)>(dlsym(RTLD_NEXT, "SSL_connect"));
  ERR_clear_error();
  return real(ssl);
}
}

namespace agentrt::cluster {
namespace {

// PEM files are small; a bigger one is not a certificate file.
constexpr std::uint64_t kMaxPemFileBytes = 1u << 20;

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

void free_chain(STACK_OF(X509) * s) {
  sk_X509_pop_free(s, X509_free);
}
using Chain = std::unique_ptr<STACK_OF(X509), Deleter<STACK_OF(X509), free_chain>>;

// A key with a passphrase is refused, never prompted for on the terminal.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

Bio memory_bio(const std::string& text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Every certificate of a PEM text, in order (empty: none parses).
std::vector<X509Ptr> read_certificates(const std::string& text) {
  std::vector<X509Ptr> out;
  auto bio = memory_bio(text);
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr))
    out.emplace_back(c);
  return out;
}

Error bad(const std::string& path, const std::string& why) {
  return make_error(ErrorCode::invalid_argument, path + ": " + why);
}

}  // namespace

Status check_tls_files(const TlsFiles& tls) {
  if (tls.cert.empty() || tls.key.empty() || tls.ca.empty())
    return make_error(ErrorCode::invalid_argument,
                      "TLS needs three files: this side's certificate, its private key and the "
                      "cluster's CA certificate");
  auto cert_text = read_file_bounded(tls.cert, kMaxPemFileBytes);
  if (!cert_text.ok()) return cert_text.error();
  auto key_text = read_file_bounded(tls.key, kMaxPemFileBytes);
  if (!key_text.ok()) return key_text.error();
  auto ca_text = read_file_bounded(tls.ca, kMaxPemFileBytes);
  if (!ca_text.ok()) return ca_text.error();

  auto certs = read_certificates(*cert_text);
  if (certs.empty()) return bad(tls.cert, "not a PEM certificate");
  auto key_bio = memory_bio(*key_text);
  KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    if (key_text->find("ENCRYPTED") != std::string::npos)
      return bad(tls.key,
                 "the private key has a passphrase, which is not supported (write it "
                 "without one: openssl pkey -in KEY -out PLAIN_KEY)");
    return bad(tls.key, "not a PEM private key");
  }
  if (X509_check_private_key(certs[0].get(), key.get()) != 1)
    return bad(tls.key, "not the private key of the certificate " + tls.cert);
  auto cas = read_certificates(*ca_text);
  if (cas.empty()) return bad(tls.ca, "not a PEM certificate");

  Store store(X509_STORE_new());
  for (const auto& ca : cas)
    X509_STORE_add_cert(store.get(), ca.get());
  Chain chain(sk_X509_new_null());
  for (std::size_t i = 1; i < certs.size(); ++i) {
    X509_up_ref(certs[i].get());
    sk_X509_push(chain.get(), certs[i].get());
  }
  StoreCtx ctx(X509_STORE_CTX_new());
  if (!store || !chain || !ctx ||
      X509_STORE_CTX_init(ctx.get(), store.get(), certs[0].get(), chain.get()) != 1)
    return make_error(ErrorCode::internal, "OpenSSL cannot set up a certificate check");
  if (X509_verify_cert(ctx.get()) != 1)
    return bad(tls.cert, std::string("does not verify against the CA ") + tls.ca + ": " +
                             X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  return ok_status();
}

void configure_transport(caf::actor_system_config& cfg, const TlsFiles& tls) {
  if (!tls.enabled()) return;
  cfg.openssl_certificate = tls.cert;
  cfg.openssl_key = tls.key;
  cfg.openssl_cafile = tls.ca;
  cfg.load<caf::openssl::manager>();
}

Result<std::uint16_t> publish_on(const caf::actor& whom, std::uint16_t port,
                                 const std::string& bind, bool tls) {
  auto& sys = whom.home_system();
  auto bound = tls ? caf::openssl::publish(whom, port, bind.c_str(), true)
                   : sys.middleman().publish(whom, port, bind.c_str(), true);
  if (!bound)
    return make_error(ErrorCode::io, "cannot listen on " + bind + ":" + std::to_string(port) +
                                         ": " + sys.render(bound.error()));
  return *bound;
}

Result<caf::actor> connect_to(caf::actor_system& system, const std::string& host,
                              std::uint16_t port, bool tls, std::chrono::milliseconds timeout) {
  const std::string where = host + ":" + std::to_string(port);
  // middleman::remote_actor without its infinite wait: the same request, with a timeout.
  auto handle = tls ? system.openssl_manager().actor_handle() : system.middleman().actor_handle();
  auto f = caf::make_function_view(handle, caf::duration{timeout});
  auto res = f(caf::connect_atom_v, host, port);
  if (!res) {
    const std::string hint =
        tls ? " (do both sides have certificates of the same CA, and does the coordinator use "
              "TLS?)"
            : " (does the coordinator use TLS?)";
    if (res.error() == caf::sec::request_timeout)
      return make_error(ErrorCode::io, "cannot join " + where + ": no answer within " +
                                           std::to_string(timeout.count()) + " ms" + hint);
    return make_error(ErrorCode::io,
                      "cannot join " + where + ": " + system.render(res.error()) +
                          (res.error() == caf::sec::disconnect_during_handshake ? hint : ""));
  }
  auto& ptr = std::get<1>(*res);
  if (!ptr) return make_error(ErrorCode::io, "cannot join " + where + ": no actor published");
  return caf::actor_cast<caf::actor>(std::move(ptr));
}

}  // namespace agentrt::cluster
