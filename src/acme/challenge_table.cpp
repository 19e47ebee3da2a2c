// src/acme/challenge_table.cpp — copy-on-write publication of pending challenge answers.
#include "acme/challenge_table.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/tls1.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

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
  static constexpr unsigned char kWire[] =
      "\x0a"
      "acme-tls/1";
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kWire, sizeof(kWire) - 1, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// The SNI callback of the listener's first context would move the connection back to the
// ordinary certificate; this one leaves it on the challenge context.
int keepContext(SSL* /*ssl*/, int* /*alert*/, void* /*arg*/) { return SSL_TLSEXT_ERR_OK; }

// True when the ClientHello's ALPN list names acme-tls/1 (RFC 8737 sends only that).
bool offersAcmeAlpn(SSL* ssl) {
  const unsigned char* ext = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
                                &len) != 1 ||
      len < 2) {
    return false;
  }
  const size_t list_len = (static_cast<size_t>(ext[0]) << 8U) | ext[1];
  if (list_len + 2 != len) {
    return false;
  }
  for (size_t i = 2; i < len;) {
    const size_t n = ext[i];
    if (i + 1 + n > len) {
      return false;
    }
    if (std::string_view(reinterpret_cast<const char*>(ext + i + 1), n) == kAcmeTlsAlpn) {
      return true;
    }
    i += 1 + n;
  }
  return false;
}

// The host_name of the ClientHello's server_name extension, lower case; empty when absent.
std::string helloServerName(SSL* ssl) {
  const unsigned char* ext = nullptr;
  size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len) != 1 || len < 5) {
    return {};
  }
  // list length (2), name type (1), name length (2), name
  const size_t name_len = (static_cast<size_t>(ext[3]) << 8U) | ext[4];
  if (ext[2] != TLSEXT_NAMETYPE_host_name || 5 + name_len > len) {
    return {};
  }
  std::string name(reinterpret_cast<const char*>(ext + 5), name_len);
  for (char& c : name) {
    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return name;
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
  if (!offersAcmeAlpn(ssl)) {
    return SSL_CLIENT_HELLO_SUCCESS;
  }
  const auto table = g_table.load();
  auto it = table->tls_alpn01.find(helloServerName(ssl));
  if (it != table->tls_alpn01.end()) {
    SSL_set_SSL_CTX(ssl, it->second.get());
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace ballast::acme
