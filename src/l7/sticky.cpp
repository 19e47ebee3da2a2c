// src/l7/sticky.cpp — sticky cookie values, their signatures, and lookups.
#include "l7/sticky.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <xxhash.h>

#include <array>
#include <charconv>
#include <chrono>

#include "core/hex.h"

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
                            uint64_t now_unix_s) {
  return pool.sticky_cookie + "=" + stickyValue(pool, backend, now_unix_s) + "; Path=/; Max-Age=" +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(pool.sticky_ttl).count()) +
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
