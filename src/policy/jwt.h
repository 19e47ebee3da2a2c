// src/policy/jwt.h — checking a JSON Web Token (RFC 7519, compact JWS RFC 7515) against a
// policy and a key set: the signature with the algorithms the configuration allows (the token's
// `alg` only has to be one of them: never `none`, never an HMAC over a public key), then `exp`,
// `nbf`, `iss` and `aud` with a clock skew. Pure: no clock, no I/O; the caller passes the time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/jwks.h"

namespace ballast::policy {

// A longer token is refused unread: it could only be an attack on the decoder or the backend.
inline constexpr size_t kMaxTokenBytes = 8 * 1024;

enum class JwtAlg : uint8_t { kRs256, kEs256, kEdDsa, kHs256 };
inline constexpr uint8_t kJwtAlgCount = 4;

// The outcomes, each a metric label; kMissing is the caller's (no token found).
enum class JwtResult : uint8_t {
  kOk,
  kMissing,
  kMalformed,
  kBadAlgorithm,
  kInvalidSignature,
  kExpired,
  kNotYetValid,
  kBadIssuer,
  kBadAudience,
};
inline constexpr size_t kJwtResultCount = 9;

std::string_view jwtResultName(JwtResult r);
// "RS256" → kRs256, … ; nullopt for any other name (none, HS384, …).
std::optional<JwtAlg> jwtAlgFromName(std::string_view name);
std::string_view jwtAlgName(JwtAlg a);

struct JwtPolicy {
  std::string issuer;                  // "" = any
  std::vector<std::string> audiences;  // empty = any; else `aud` must name one of them
  uint8_t algorithms = 0;              // bit (1 << JwtAlg) per allowed algorithm
  int64_t clock_skew_s = 60;           // leeway on exp and nbf
  bool allows(JwtAlg a) const { return (algorithms & (1U << static_cast<unsigned>(a))) != 0; }
};

// A token cut at its dots and decoded (not yet verified).
struct JwtParts {
  nlohmann::json header;
  nlohmann::json payload;
  std::string_view signing_input;  // "header64.payload64", into the token
  std::string signature;
};

// nullopt when the token is not three base64url parts whose first two are JSON objects.
std::optional<JwtParts> decodeJwt(std::string_view token);

struct JwtCheck {
  JwtResult result = JwtResult::kMalformed;
  std::string_view description;  // static text for error_description and the log
  nlohmann::json claims;         // the payload, when result is kOk
};

// The whole check. `now_s` is Unix time in seconds.
JwtCheck verifyJwt(std::string_view token, const JwtPolicy& policy, const Jwks& keys,
                   int64_t now_s);

}  // namespace ballast::policy
