// src/acme/challenge_table.cpp — copy-on-write publication of pending challenge answers.
#include "acme/challenge_table.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/tls1.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>

#include "acme/hello_extensions.h"

namespace ballast::acme {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

struct Table {
  std::unordered_map<std::string, std::string> http01;
  // Shared between successive tables; a connection moved onto a context holds its own
  // reference (SSL_set_SSL_CTX), so withdrawing one never pulls it from under a handshake.
  std::unordered_map<std::string, std::shared_ptr<SSL_CTX>> tls_alpn01;
};

std::atomic<std::shared_ptr<const Table>> g_table{std::make_shared<const Table>()};
std::mutex g_write;  // writers copy, change and publish one at a time (ACME thread)

template <typename Change>
void update(Change change) {
  const std::lock_guard<std::mutex> lock(g_write);
  auto next = std::make_shared<Table>(*g_table.load());
  change(*next);
  g_table.store(std::move(next));
}

int selectAcmeAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                   const unsigned char* in, unsigned int inlen, void* /*arg*/) {
  static constexpr std::array<unsigned char, 11> kWire = {
      10, 'a', 'c', 'm', 'e', '-', 't', 'l', 's', '/', '1'};  // length-prefixed, as on the wire
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kWire.data(), kWire.size(), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// The SNI callback of the listener's first context would move the connection back to the
// ordinary certificate; this one leaves it on the challenge context.
int keepContext(SSL* /*ssl*/, int* /*alert*/, void* /*arg*/) { return SSL_TLSEXT_ERR_OK; }

// The raw body of one ClientHello extension; empty when the hello has none.
std::span<const uint8_t> helloExtension(SSL* ssl, unsigned type) {
  const unsigned char* ext = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, type, &ext, &len) != 1) {
    return {};
  }
  return {ext, len};
}

}  // namespace

void publishHttp01(const std::string& token, const std::string& key_authorization) {
  update([&](Table& t) { t.http01[token] = key_authorization; });
}

void withdrawHttp01(const std::string& token) {
  update([&](Table& t) { t.http01.erase(token); });
}

std::optional<std::string> http01Answer(std::string_view path) {
  if (!path.starts_with(kHttp01Prefix)) {
    return std::nullopt;
  }
  const auto table = g_table.load();
  auto it = table->http01.find(std::string(path.substr(kHttp01Prefix.size())));
  if (it == table->http01.end()) {
    return std::nullopt;
  }
  return it->second;
}

bool publishTlsAlpn01(const std::string& name, const std::string& cert_pem,
                      const std::string& key_pem) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SslCtxFree());
  std::unique_ptr<BIO, BioFree> cert_bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  std::unique_ptr<BIO, BioFree> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  if (!ctx || !cert_bio || !key_bio) {
    return false;
  }
  X509* cert = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  const bool ok = cert != nullptr && key != nullptr &&
                  SSL_CTX_use_certificate(ctx.get(), cert) == 1 &&
                  SSL_CTX_use_PrivateKey(ctx.get(), key) == 1;
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) {
    return false;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);  // RFC 8737 section 4
  SSL_CTX_set_alpn_select_cb(ctx.get(), selectAcmeAlpn, nullptr);
  SSL_CTX_set_tlsext_servername_callback(ctx.get(), keepContext);
  update([&](Table& t) { t.tls_alpn01[name] = ctx; });
  return true;
}

void withdrawTlsAlpn01(const std::string& name) {
  update([&](Table& t) { t.tls_alpn01.erase(name); });
}

int onClientHello(SSL* ssl, int* /*alert*/, void* /*arg*/) {
  if (!alpnOffers(helloExtension(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation),
                  kAcmeTlsAlpn)) {
    return SSL_CLIENT_HELLO_SUCCESS;
  }
  const auto table = g_table.load();
  auto it = table->tls_alpn01.find(serverNameOf(helloExtension(ssl, TLSEXT_TYPE_server_name)));
  if (it != table->tls_alpn01.end()) {
    SSL_set_SSL_CTX(ssl, it->second.get());
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace ballast::acme
