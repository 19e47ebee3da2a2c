// src/tls/ticket_keys.cpp — AES-256-CBC + HMAC-SHA256 ticket keys (RFC 5077's recommended
// construction, as OpenSSL's own default keys), rotated on use.
#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/rand.h>

#include <cstring>
#include <map>

#include "core/clock.h"

namespace ballast::tls {
namespace {

int ringIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

std::shared_ptr<TicketKeyRing> TicketKeyRing::forListener(const std::string& name,
                                                          std::chrono::milliseconds rotation) {
  static std::mutex registry_mu;
  static std::map<std::string, std::shared_ptr<TicketKeyRing>> registry;
  const std::lock_guard lock(registry_mu);
  auto& ring = registry[name];
  if (!ring) {
    ring = std::make_shared<TicketKeyRing>();
    ring->current_ = fresh(static_cast<int64_t>(core::monotonicMs()));
  }
  const std::lock_guard ring_lock(ring->mu_);
  ring->rotation_ = rotation;
  return ring;
}

void TicketKeyRing::install(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, ringIndex(), this);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketKeyRing::onTicket);
}

uint64_t TicketKeyRing::rotations() const {
  const std::lock_guard lock(mu_);
  return rotations_;
}

TicketKeyRing::Key TicketKeyRing::fresh(int64_t now_ms) {
  Key k;
  k.born_ms = now_ms;
  if (RAND_bytes(k.name.data(), static_cast<int>(k.name.size())) != 1 ||
      RAND_bytes(k.aes.data(), static_cast<int>(k.aes.size())) != 1 ||
      RAND_bytes(k.hmac.data(), static_cast<int>(k.hmac.size())) != 1) {
    // No randomness: a zero name never matches a ticket, so tickets simply do not resume.
    k.name.fill(0);
  }
  return k;
}

void TicketKeyRing::current(Key* now, Key* before) {
  const auto now_ms = static_cast<int64_t>(core::monotonicMs());
  const std::lock_guard lock(mu_);
  if (now_ms - current_.born_ms >= rotation_.count()) {
    // Two periods without a handshake retire both keys at once.
    const bool both = now_ms - current_.born_ms >= 2 * rotation_.count();
    previous_ = current_;
    have_previous_ = !both;
    current_ = fresh(now_ms);
    ++rotations_;
  }
  *now = current_;
  if (have_previous_) {
    *before = previous_;
  } else {
    before->name.fill(0);
  }
}

int TicketKeyRing::onTicket(SSL* ssl, unsigned char* key_name, unsigned char* iv,
                            EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt) {
  auto* ring = static_cast<TicketKeyRing*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ringIndex()));
  if (ring == nullptr) {
    return -1;
  }
  Key now;
  Key before;
  ring->current(&now, &before);
  const Key* key = &now;
  int result = 1;
  if (encrypt == 1) {
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) {
      return -1;
    }
    std::memcpy(key_name, now.name.data(), kNameBytes);
  } else if (std::memcmp(key_name, now.name.data(), kNameBytes) == 0) {
    // TLS 1.3 clients use a ticket once (RFC 8446 8.1), and OpenSSL sends a new one after a
    // resumption only when asked: without it every other connection was a full handshake.
    result = SSL_version(ssl) >= TLS1_3_VERSION ? 2 : 1;
  } else if (before.name != std::array<unsigned char, kNameBytes>{} &&
             std::memcmp(key_name, before.name.data(), kNameBytes) == 0) {
    key = &before;
    result = 2;  // good, but issue a ticket under the current key
  } else {
    return 0;  // unknown or retired key: a full handshake
  }
  std::array<char, 8> digest{"SHA256"};
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(
          OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key->hmac.data()), key->hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) {
    return -1;
  }
  const int ok = encrypt == 1
                     ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv)
                     : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv);
  return ok == 1 ? result : -1;
}

}  // namespace ballast::tls
