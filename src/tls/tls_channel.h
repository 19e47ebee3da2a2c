// src/tls/tls_channel.h — TLS for the admin listener: OpenSSL over memory BIOs into strings (the
// admin server's buffers), so the connection keeps using the event loop's streams and only
// bytes pass through here. The proxy's connections use tls_stream (chunk queues) instead.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace ballast::tls {

// Shared: the admin server's acceptors and connections all hold the context.
using SharedSslCtx = std::shared_ptr<SSL_CTX>;

// A server context with the PEM certificate chain and key (TLS 1.2 and later). nullptr and
// *error (naming the file and OpenSSL's reason) when they cannot be loaded or do not match.
SharedSslCtx makeServerTlsContext(const std::string& cert_file, const std::string& key_file,
                                  std::string* error);

class TlsChannel {
 public:
  explicit TlsChannel(SSL_CTX* ctx);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  // Ciphertext from the peer in; decrypted bytes appended to `plain`, bytes to send (handshake,
  // alerts) appended to `wire`. False on a fatal TLS error, with *why.
  bool receive(std::span<const uint8_t> in, std::string& plain, std::string& wire,
               std::string* why);
  // The handshake has completed.
  bool established() const { return SSL_is_init_finished(ssl_) == 1; }
  // Plaintext to the peer; the ciphertext is appended to `wire`.
  bool send(std::string_view plain, std::string& wire);

 private:
  void drain(std::string& wire);

  SSL* ssl_;
  BIO* rbio_;  // network → OpenSSL
  BIO* wbio_;  // OpenSSL → network
};

}  // namespace ballast::tls
