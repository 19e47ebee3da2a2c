// src/policy/jwks.h — a JSON Web Key Set (RFC 7517) read into OpenSSL keys for JWT checks:
// RSA, EC P-256, Ed25519 (OKP, RFC 8037) public keys and `oct` HMAC secrets. Pure: bytes in,
// immutable keys out; the caller decides where the bytes come from and when to read them again.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ballast::policy {

// A JWKS larger than this is refused: real sets hold a handful of keys.
inline constexpr size_t kMaxJwksBytes = 1024 * 1024;

enum class JwkType : uint8_t { kRsa, kEc, kOkp, kOct };

struct Jwk {
  std::string kid;  // "" when the key has none
  JwkType type = JwkType::kRsa;
  std::string alg;                       // the key's own `alg` when it names one; else ""
  std::shared_ptr<EVP_PKEY> public_key;  // kRsa, kEc (P-256), kOkp (Ed25519)
  std::string secret;                    // kOct: the HMAC key bytes
};

struct Jwks {
  std::vector<Jwk> keys;
};

struct JwksParse {
  std::shared_ptr<const Jwks> jwks;  // null on error
  std::string error;                 // why there is no set
  std::vector<std::string> skipped;  // keys left out, and why (unsupported kty or curve, …)
};

// Reads `{"keys":[…]}`. A set with no usable key is an error; keys of other types or curves,
// private-only or `use: enc` keys are skipped, not fatal.
JwksParse parseJwks(std::string_view json);

// base64url without padding (RFC 7515 §2); padding '=' is tolerated. nullopt on other bytes.
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace ballast::policy
