// src/l7/rate_limit_filter.h — `rate_limit:` rules as a filter: the listener's rules, then the
// matched route's, each keyed by its parts of the request and decided by the process-wide GCRA
// table (policy/gcra_table), so a limit holds whatever the number of workers.
#pragma once

#include <cstdint>
#include <functional>

#include "config/config_types.h"
#include "l7/filter.h"
#include "net/address.h"
#include "policy/gcra_table.h"

namespace ballast::l7 {

// The hash a rule keys a request on, seeded with the rule's id; nullopt when the request lacks
// a header or cookie the key names (the rule does not count it).
std::optional<uint64_t> rateLimitKey(const config::RateLimitRule& rule, const RequestView& request,
                                     const net::SocketAddress& client);

class RateLimitFilter final : public Filter {
 public:
  using Clock = uint64_t (*)();  // monotonic µs, never 0
  RateLimitFilter(const config::Listener& listener, policy::GcraTable& table,
                  Clock clock = &monotonicUs);

  // Owning worker only; no allocation unless the request is refused (the answer's fields).
  Verdict onRequest(Exchange& ex, const RequestView& request,
                    const net::SocketAddress& client) override;

  static uint64_t monotonicUs();

 private:
  // One rule's decision; a refusal fills ex.answer_fields and returns 429.
  Verdict apply(const config::RateLimitRule& rule, Exchange& ex, const RequestView& request,
                const net::SocketAddress& client, uint64_t now_us);

  const config::Listener& listener_;
  policy::GcraTable& table_;
  Clock clock_;
};

}  // namespace ballast::l7
