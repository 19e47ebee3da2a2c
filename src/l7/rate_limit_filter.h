// src/l7/rate_limit_filter.h — `rate_limit:` rules as a filter: the listener's rules, then the
// matched route's, each keyed by its parts of the request and decided by the process-wide GCRA
// table (policy/gcra_table), so a limit holds whatever the number of workers.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_types.h"
#include "l7/filter.h"
#include "net/address.h"
#include "policy/gcra_table.h"
#include "policy/redis_store.h"

namespace ballast::l7 {

using VerifiedClaims = std::span<const std::pair<std::string_view, std::string>>;

// The hash a rule keys a request on, seeded with the rule's id; nullopt when the request lacks
// a header or cookie the key names (the rule does not count it). A jwt_claim part hashes the
// claim from `claims` (Exchange::jwt_claims), or the client's address grouped by the rule's
// prefixes when the request has no verified claim of that name.
std::optional<uint64_t> rateLimitKey(const config::RateLimitRule& rule, const RequestView& request,
                                     const net::SocketAddress& client, VerifiedClaims claims = {});

// Which rules one RateLimitFilter runs: those keyed on a jwt claim need the jwt filter's verdict,
// so they run in a second instance after it; the others run first, before any signature check.
enum class RateLimitStage : uint8_t { kBeforeAuth, kAfterJwt };

class RateLimitFilter final : public Filter {
 public:
  using Clock = uint64_t (*)();  // monotonic µs, never 0
  RateLimitFilter(const config::Listener& listener, policy::GcraTable& table,
                  Clock clock = &monotonicUs, RateLimitStage stage = RateLimitStage::kBeforeAuth);

  // Owning worker only; no allocation unless the request is refused (the answer's fields).
  Verdict onRequest(Exchange& ex, const RequestView& request,
                    const net::SocketAddress& client) override;

  static uint64_t monotonicUs();

 private:
  // One rule's decision; a refusal fills ex.answer_fields and returns 429.
  Verdict apply(const config::RateLimitRule& rule, Exchange& ex, const RequestView& request,
                const net::SocketAddress& client, uint64_t now_us);
  // A `store:` rule: the local share, a refill queued when it runs low, on_store_error when it
  // is empty and the store is down.
  policy::GcraDecision takeShared(const config::RateLimitRule& rule, policy::RedisStore& store,
                                  uint64_t key, const policy::GcraLimit& limit, uint64_t now_us);
  policy::RedisStore* storeOf(const config::RateLimitRule& rule) const;

  const config::Listener& listener_;
  policy::GcraTable& table_;
  // The store of each `store:` rule, resolved at construction (the registry takes a mutex).
  std::vector<std::pair<const config::RateLimitRule*, policy::RedisStore*>> stores_;
  Clock clock_;
  RateLimitStage stage_;
};

}  // namespace ballast::l7
