// src/tls/server_context.h — the TLS contexts of one HTTPS listener, built once per config
// snapshot on the control thread and shared read-only by every worker (OpenSSL contexts are
// safe to share; one context per listener means one set of session-ticket keys for all
// workers, so a client resumes whichever worker it reaches).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config_types.h"
#include "tls/ticket_keys.h"

namespace ballast::tls {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// OpenSSL's reason for the last failure on this thread, and clears its error queue.
std::string lastError();

class ServerContext {
 public:
  // Loads every certificate and key and checks that each pair matches. nullptr and *error
  // (naming the file and the reason) when any cannot be used.
  // `listener` names the session-ticket key ring, which outlives this context (reloads).
  static std::shared_ptr<ServerContext> build(const std::string& listener,
                                              const config::TlsServerSettings& settings,
                                              std::string* error);
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;
  ~ServerContext();

  // The context a new connection starts with; SNI may switch it during the handshake.
  SSL_CTX* initial() const { return entries_.front().ctx.get(); }
  // The context for a server name: exact, then wildcard ("*.example.test" covers one label),
  // else the default (the first certificate). Case-insensitive.
  SSL_CTX* forServerName(std::string_view name) const;
  // The DNS names the certificate of each context covers, in config order (status, tests).
  std::vector<std::vector<std::string>> names() const;

 private:
  ServerContext() = default;
  struct Entry {
    SslCtxPtr ctx;
    std::vector<std::string> names;  // lower case; "*.x" for wildcards
  };
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> exact_;
  std::unordered_map<std::string, size_t> wildcard_;  // keyed by the part after "*."
  std::vector<unsigned char> alpn_;                   // wire format: length-prefixed names
  std::shared_ptr<TicketKeyRing> tickets_;
  // OCSP staples by the leaf certificate they are about (RSA and ECDSA share a context).
  std::unordered_map<const X509*, std::vector<unsigned char>> staples_;
  static int onStatus(SSL* ssl, void* arg);
  bool loadStaple(SSL_CTX* ctx, const std::string& path, std::string* error);
};

}  // namespace ballast::tls
