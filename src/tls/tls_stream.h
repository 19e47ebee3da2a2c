// src/tls/tls_stream.h — server-side TLS for one connection over memory BIOs: ciphertext comes
// in from the event loop's chunks, plaintext goes out into a chunk queue, and what TLS wants
// to send (handshake, records, alerts) is drained into another. No socket is touched here, so
// it works the same on io_uring and epoll.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/chunk_pool.h"

namespace ballast::tls {

class TlsStream {
 public:
  enum class Role : uint8_t { kServer, kClient };
  explicit TlsStream(SSL_CTX* ctx, Role role = Role::kServer);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  enum class Status : uint8_t {
    kOk,        // go on; more may be needed
    kClosed,    // the peer sent close_notify: treat as its end of stream
    kFailed,    // fatal: handshake failure or a bad record (reason())
    kNoBuffer,  // the chunk pool ran dry
  };

  // Feeds ciphertext; appends the plaintext it yields to `plain`.
  Status receive(std::span<const uint8_t> ciphertext, core::ChunkPool& pool,
                 core::ChunkQueue& plain);
  // Encrypts plaintext (it is always taken whole: the write BIO grows).
  bool send(std::span<const uint8_t> plaintext);
  // Sends close_notify (before our FIN).
  void shutdown();

  // Client role, before start(): the SNI to send, what the server's certificate must name
  // (a DNS name, else an IP address in text form), and a session to resume.
  void setServerName(const std::string& name);
  bool expectName(const std::string& host, bool is_ip);
  void resume(SSL_SESSION* session) { SSL_set_session(ssl_, session); }
  // Client role: writes the ClientHello (drain it with drainWire).
  Status start();
  SSL* ssl() const { return ssl_; }
  // Moves what TLS wants on the wire into `wire`. False when the pool ran dry.
  bool drainWire(core::ChunkPool& pool, core::ChunkQueue& wire);

  bool handshakeDone() const { return SSL_is_init_finished(ssl_) == 1; }
  std::string_view alpn() const;
  std::string_view version() const { return SSL_get_version(ssl_); }
  bool resumed() const { return SSL_session_reused(ssl_) == 1; }
  const std::string& reason() const { return reason_; }
  // The OpenSSL reason code of the failure (ERR_GET_REASON), 0 when none: for counting.
  int reasonCode() const { return reason_code_; }
  // mTLS: the client certificate's subject (RFC 2253) and SHA-256 fingerprint (lowercase hex),
  // when one was sent and verified; else false.
  bool peerIdentity(std::string* subject, std::string* fingerprint) const;

 private:
  SSL* ssl_;
  BIO* rbio_;
  BIO* wbio_;
  std::string reason_;
  int reason_code_ = 0;
  bool failed_ = false;
  void fail();  // records OpenSSL's reason for the failure
};

}  // namespace ballast::tls
