// src/l7/sticky.cpp — sticky cookie values, their signatures, and lookups.
#include "l7/sticky.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>

#include "core/hex.h"
#include "policy/sticky_store.h"

namespace ballast::l7 {
namespace {

constexpr size_t kIdChars = 16;
// The HMAC is cut to 16 bytes (128 bits, RFC 2104 §5 allows truncation to half or more of the
// output's length), 32 hex characters: enough against forgery, short enough for a cookie.
constexpr size_t kMacBytes = 16;
constexpr size_t kMacChars = kMacBytes * 2;
constexpr char kSeparator = '.';
constexpr std::string_view kHexDigits = "0123456789abcdef";

std::string backendId(const std::string& pool, const upstream::BackendState& backend) {
  const uint64_t seed = XXH64(pool.data(), pool.size(), 0);
  const uint64_t h = XXH64(backend.name.data(), backend.name.size(), seed);
  std::array<char, kIdChars> out{};
  core::writeHex(out.data(), h, kIdChars);
  return std::string(out.data(), kIdChars);
}

// Hex of the truncated HMAC over "<pool>\n<id>.<expiry>": the pool's name is in, so a cookie of
// one pool means nothing in another that shares the key.
std::string mac(const config::Pool& pool, std::string_view signed_part) {
  std::string message = pool.name;
  message.push_back('\n');
  message.append(signed_part);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), pool.sticky_key.data(), static_cast<int>(pool.sticky_key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(), &len);
  std::string hex;
  hex.reserve(kMacChars);
  for (size_t i = 0; i < kMacBytes; ++i) {
    hex.push_back(kHexDigits[digest[i] >> 4U]);
    hex.push_back(kHexDigits[digest[i] & 0xfU]);
  }
  return hex;
}

constexpr size_t kSessionBytes = 16;  // 128 random bits: not guessable, not colliding
constexpr size_t kSessionChars = kSessionBytes * 2;
constexpr size_t kStoreCacheSlots = 8;

bool isSessionId(std::string_view v) {
  return v.size() == kSessionChars && std::all_of(v.begin(), v.end(), [](char c) {
           return kHexDigits.find(c) != std::string_view::npos;
         });
}

std::string newSessionId() {
  std::array<unsigned char, kSessionBytes> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    return {};  // the caller falls back to an unstored cookie-less answer
  }
  std::string id;
  id.reserve(kSessionChars);
  for (const unsigned char b : raw) {
    id.push_back(kHexDigits[b >> 4U]);
    id.push_back(kHexDigits[b & 0xfU]);
  }
  return id;
}

// The pool's store, remembered per worker so the registry's mutex is taken once per pool and
// endpoint, not per request. The endpoint is compared too: a new config may reuse a freed
// Pool's address.
policy::StickyStore& storeOf(const config::Pool& pool) {
  struct Slot {
    const config::Pool* pool = nullptr;
    config::StoreEndpoint endpoint;
    policy::StickyStore* store = nullptr;
  };
  thread_local std::array<Slot, kStoreCacheSlots> slots{};
  thread_local size_t next = 0;
  for (auto& s : slots) {
    if (s.pool == &pool && s.endpoint.port == pool.sticky_store.port &&
        s.endpoint.host == pool.sticky_store.host) {
      return *s.store;
    }
  }
  Slot& s = slots[next++ % slots.size()];
  s = {&pool, pool.sticky_store,
       &policy::StickyStore::forEndpoint(pool.sticky_store.host, pool.sticky_store.port)};
  return *s.store;
}

StickyLookup storedBackend(upstream::WorkerPool& pool, std::string_view value,
                           uint64_t now_unix_s) {
  StickyLookup out;
  if (!isSessionId(value)) {
    return out;  // none, or not one of ours: a new session
  }
  out.session = value;
  const auto& rt = pool.runtime();
  const auto backend =
      storeOf(*rt.config).find(policy::StickyStore::keyOf(rt.config->name, value), now_unix_s);
  if (!backend) {
    return out;
  }
  out.known = true;
  for (uint32_t i = 0; i < rt.backends.size(); ++i) {
    if (rt.backends[i]->name == *backend) {
      if (pool.isUp(i)) {
        out.backend = i;
      }
      break;
    }
  }
  return out;
}

}  // namespace

std::string stickyValue(const config::Pool& pool, const upstream::BackendState& backend,
                        uint64_t now_unix_s) {
  std::string value = backendId(pool.name, backend);
  if (pool.sticky_key.empty()) {
    return value;
  }
  const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(pool.sticky_ttl).count();
  value.push_back(kSeparator);
  value.append(std::to_string(now_unix_s + static_cast<uint64_t>(ttl)));
  const std::string tag = mac(pool, value);
  value.push_back(kSeparator);
  value.append(tag);
  return value;
}

std::string stickySetCookie(const config::Pool& pool, const upstream::BackendState& backend,
                            uint64_t now_unix_s, std::string& session, bool known) {
  const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(pool.sticky_ttl).count();
  std::string value;
  if (pool.sticky_store.enabled()) {
    if (session.empty()) {
      session = newSessionId();
      known = false;
    }
    if (session.empty()) {
      return {};
    }
    storeOf(pool).pin(policy::StickyStore::keyOf(pool.name, session), backend.name,
                      now_unix_s + static_cast<uint64_t>(ttl),
                      known ? policy::PinKind::kMove : policy::PinKind::kClaim);
    value = session;
  } else {
    value = stickyValue(pool, backend, now_unix_s);
  }
  return pool.sticky_cookie + "=" + value + "; Path=/; Max-Age=" + std::to_string(ttl) +
         "; HttpOnly";
}

StickyLookup stickyBackend(upstream::WorkerPool& pool, std::string_view value,
                           uint64_t now_unix_s) {
  StickyLookup out;
  if (value.empty()) {
    return out;
  }
  const auto& rt = pool.runtime();
  const config::Pool& cfg = *rt.config;
  if (cfg.sticky_store.enabled()) {
    return storedBackend(pool, value, now_unix_s);
  }
  std::string_view id = value;
  if (!cfg.sticky_key.empty()) {
    // <id>.<expiry>.<mac>
    const size_t dot1 = value.find(kSeparator);
    const size_t dot2 = value.rfind(kSeparator);
    uint64_t expiry = 0;
    if (dot1 != kIdChars || dot2 == dot1 || value.size() - dot2 - 1 != kMacChars) {
      out.rejected = true;
      return out;
    }
    const std::string_view expiry_text = value.substr(dot1 + 1, dot2 - dot1 - 1);
    const auto [end, ec] =
        std::from_chars(expiry_text.data(), expiry_text.data() + expiry_text.size(), expiry);
    const std::string want = mac(cfg, value.substr(0, dot2));
    // Compared in constant time: a timing difference would let a client find a tag byte by byte.
    if (ec != std::errc() || end != expiry_text.data() + expiry_text.size() ||
        CRYPTO_memcmp(want.data(), value.data() + dot2 + 1, kMacChars) != 0 ||
        expiry < now_unix_s) {
      out.rejected = true;
      return out;
    }
    id = value.substr(0, kIdChars);
  } else if (value.size() != kIdChars) {
    return out;
  }
  for (uint32_t i = 0; i < rt.backends.size(); ++i) {
    if (backendId(cfg.name, *rt.backends[i]) == id) {
      if (pool.isUp(i)) {
        out.backend = i;
      }
      return out;
    }
  }
  return out;
}

}  // namespace ballast::l7
