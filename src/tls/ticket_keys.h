// src/tls/ticket_keys.h — the keys that encrypt TLS session tickets. One ring per listener
// name, made by the process and kept across reloads (a reload must not cost every client a
// full handshake), shared by every worker through the listener's contexts (so a ticket from
// one worker resumes on another). A new key takes over each rotation period; the one before
// still decrypts, and a ticket it decrypts is replaced by a fresh one. Tickets older than two
// periods fall back to a full handshake, which bounds what a stolen key can reveal.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace ballast::tls {

class TicketKeyRing {
 public:
  // The ring of the listener `name`, created on first use; `rotation` is its period from now on.
  static std::shared_ptr<TicketKeyRing> forListener(const std::string& name,
                                                    std::chrono::milliseconds rotation);
  // Makes `ctx` encrypt and decrypt its tickets with this ring (which must outlive ctx).
  void install(SSL_CTX* ctx);
  // Rotations so far (tests and status).
  uint64_t rotations() const;

  static constexpr size_t kNameBytes = 16;
  static constexpr size_t kKeyBytes = 32;

 private:
  struct Key {
    std::array<unsigned char, kNameBytes> name{};
    std::array<unsigned char, kKeyBytes> aes{};
    std::array<unsigned char, kKeyBytes> hmac{};
    int64_t born_ms = 0;
  };
  static int onTicket(SSL* ssl, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                      EVP_MAC_CTX* mac, int encrypt);
  // The current and previous keys, rotated first when the current one is too old.
  void current(Key* now, Key* before);
  static Key fresh(int64_t now_ms);

  mutable std::mutex mu_;
  Key current_;
  Key previous_;
  bool have_previous_ = false;
  std::chrono::milliseconds rotation_{};
  uint64_t rotations_ = 0;
};

}  // namespace ballast::tls
