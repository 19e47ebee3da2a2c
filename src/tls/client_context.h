// src/tls/client_context.h — the TLS context a pool uses towards its backends (`pools[].tls`):
// trust anchors, verification, the name to send and check, an optional client certificate.
// Built once per config snapshot on the control thread, shared read-only by every worker.
// Sessions are not cached here: each worker keeps its own per backend (upstream_pool), so
// resumption needs no lock.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "config/config_types.h"
#include "tls/server_context.h"

namespace ballast::tls {

// Hears about the sessions a client connection can later resume (TLS 1.3 tickets come after
// the handshake, so they are pushed, not pulled). Set per connection with attachSink().
class SessionSink {
 public:
  // Takes a reference to `session` when it keeps it (SSL_SESSION_up_ref).
  virtual void onSession(SSL_SESSION* session) = 0;

 protected:
  ~SessionSink() = default;
};

// Makes `ssl` (of a ClientContext) report its sessions to `sink`.
void attachSink(SSL* ssl, SessionSink* sink);

class ClientContext {
 public:
  // nullptr and *error (naming the file and the reason) when the material cannot be used.
  static std::shared_ptr<ClientContext> build(const config::UpstreamTls& settings,
                                              std::string* error);
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  SSL_CTX* ctx() const { return ctx_.get(); }
  const config::UpstreamTls& settings() const { return settings_; }

 private:
  ClientContext() = default;
  SslCtxPtr ctx_;
  config::UpstreamTls settings_;
};

}  // namespace ballast::tls
