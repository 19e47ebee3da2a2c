// src/control/admin_auth.h — who may use the admin API over TCP: a CIDR allowlist (also
// checked at accept by AdminServer), a per-peer request rate, and a bearer token (a static token
// from a file, or a JWT signed HS256 or RS256 whose exp and nbf hold, and aud and iss when
// configured). The unix socket is guarded by its file mode instead.
#pragma once

#include <jwt.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/control_types.h"
#include "control/admin_http.h"

namespace ballast::control {

class AdminAuth {
 public:
  // Loads the token and key files named in `settings`; errors name the file.
  static std::optional<AdminAuth> load(const config::AdminAuth& settings, std::string* error);

  // nullopt: let the request through (request.actor is set). Otherwise the 401/403/429 to
  // answer. `now_ms` is injected for tests.
  std::optional<AdminResponse> check(AdminRequest& request, uint64_t now_ms);

  bool tokensConfigured() const {
    return !static_tokens_.empty() || !hs256_secret_.empty() || !rs256_public_key_.empty();
  }

 private:
  // Returns the token's subject ("static" for file tokens) or nullopt with *why set.
  std::optional<std::string> verify(const std::string& token, uint64_t now_ms,
                                    std::string* why) const;
  std::optional<std::string> checkClaims(jwt_t* jwt, uint64_t now_ms, std::string* why) const;
  bool allowRate(const std::string& peer, uint64_t now_ms);

  std::vector<net::Cidr> allow_;
  uint32_t rate_per_sec_ = 0;
  std::vector<std::string> static_tokens_;
  std::string hs256_secret_;
  std::string rs256_public_key_;
  std::string audience_;  // admin.auth.audience; "" = not checked
  std::string issuer_;    // admin.auth.issuer; "" = not checked
  struct Bucket {
    double tokens = 0;
    uint64_t last_ms = 0;
  };
  std::map<std::string, Bucket> buckets_;
};

}  // namespace ballast::control
