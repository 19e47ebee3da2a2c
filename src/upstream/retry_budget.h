// src/upstream/retry_budget.h — one worker's count of the requests and retries it has in flight
// to one pool, which caps retries at a share of requests (`retries: {budget}`). Per worker, so
// the request path touches no shared memory: traffic is spread evenly over workers by
// SO_REUSEPORT, so a per-worker share is the pool's share. Owning worker only.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ballast::upstream {

struct RetryBudget {
  static constexpr uint64_t kPercent = 100;
  uint32_t requests = 0;  // exchanges of this worker waiting on the pool (up to a response head)
  uint32_t retries = 0;   // those of them that are a retry

  // Whether one more retry fits: retries in flight below `percent` of requests in flight, or
  // below `min_concurrency` whatever the requests.
  bool admits(uint32_t percent, uint32_t min_concurrency) const {
    const uint64_t share = uint64_t{requests} * percent / kPercent;
    return retries < std::max<uint64_t>(share, min_concurrency);
  }
};

}  // namespace ballast::upstream
