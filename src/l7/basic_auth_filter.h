// src/l7/basic_auth_filter.h — `basic_auth:` as a filter: reads the request's
// `Authorization: Basic` credentials (RFC 7617), checks them against the listener's or the
// route's htpasswd users with crypt(3), answers 401 with `WWW-Authenticate: Basic realm=…`
// when they fail, and keeps Authorization from the backend unless forward_credentials is set.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "config/config_types.h"
#include "l7/filter.h"
#include "metrics/proxy_metrics.h"
#include "policy/htpasswd.h"

namespace ballast::l7 {

enum class BasicAuthResult : uint8_t { kOk, kMissing, kMalformed, kUnknownUser, kBadPassword };
inline constexpr size_t kBasicAuthResultCount = 5;
std::string_view basicAuthResultName(BasicAuthResult r);

// Successful checks remembered per worker (see BasicAuthFilter::cache_). A keep-alive client or
// a handful of API clients fit many times over; more distinct users than this just hash again.
inline constexpr size_t kBasicAuthCacheSlots = 256;
// The base64 credentials of a request longer than this are refused without decoding.
inline constexpr size_t kMaxBasicCredentialBytes = 1024;

struct BasicCredentials {
  std::string user;
  std::string password;
};
// The user and password of an `Authorization: Basic <base64(user:password)>` value; nullopt
// when the value is not that (another scheme, bad base64, no colon, control bytes).
std::optional<BasicCredentials> parseBasicCredentials(std::string_view value);

class BasicAuthFilter final : public Filter {
 public:
  BasicAuthFilter(const config::Listener& listener, metrics::ListenerCounters& counters);

  // Owning worker only. May run crypt(3) (about a millisecond for bcrypt) when the credentials
  // are not in the cache.
  Verdict onRequest(Exchange& ex, const RequestView& request,
                    const net::SocketAddress& client) override;

 private:
  using Digest = std::array<unsigned char, 32>;  // SHA-256
  struct CacheSlot {
    const policy::HtpasswdUsers* users = nullptr;  // null: empty slot
    Digest digest{};
  };
  const config::BasicAuth* scopeOf(const Exchange& ex) const;
  bool verify(const config::BasicAuth& auth, const BasicCredentials& creds);
  Verdict refuse(Exchange& ex, const config::BasicAuth& auth, BasicAuthResult result,
                 const net::SocketAddress& client);

  const config::Listener& listener_;
  metrics::ListenerCounters& counters_;
  policy::CryptScratch scratch_;
  // Credentials (users file, SHA-256 of user ":" password) that passed crypt(3) in this worker
  // and this config snapshot. bcrypt is slow on purpose, and a browser or an API client sends
  // the same Authorization on every request: without this, each request would cost a
  // millisecond of the worker's loop. Only successes are kept, so a wrong password always pays
  // the full price; a reload builds a new filter, so a changed users file starts empty.
  // Direct-mapped by the digest: no allocation, a collision evicts.
  std::array<CacheSlot, kBasicAuthCacheSlots> cache_{};
};

}  // namespace ballast::l7
