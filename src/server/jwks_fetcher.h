// src/server/jwks_fetcher.h — keeps every `jwt: {jwks_url}` key set fresh. One thread of its own
// (libcurl is blocking; the control loop must not wait on a slow identity provider): every
// second it looks at the sources some config still holds (policy::liveJwksSources) and fetches
// those that are due — a new one at once, then every jwks_refresh; after a failure again in 5 s,
// doubling up to jwks_refresh. A failure keeps the last good keys, is counted and logged (at a
// limited rate); a body that is not a JWKS with at least one usable key counts as a failure.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "metrics/prometheus_writer.h"
#include "policy/jwks_source.h"

namespace ballast::server {

class JwksFetcher {
 public:
  JwksFetcher();
  ~JwksFetcher();  // stops the thread, abandoning a transfer in progress
  JwksFetcher(const JwksFetcher&) = delete;
  JwksFetcher& operator=(const JwksFetcher&) = delete;

  // A reload may have named new URLs: look now rather than within the second.
  void poke();

 private:
  void run();
  void fetch(policy::JwksSource& source);

  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  bool poked_ = false;
  struct Due {
    uint64_t at_ms = 0;       // monotonic
    uint64_t backoff_ms = 0;  // after failures
  };
  std::map<const policy::JwksSource*, Due> due_;  // the fetcher thread's own
  std::thread thread_;
};

// ballast_jwks_* families: fetches, failures, keys held and the age of the keys, per URL.
void writeJwksMetrics(metrics::PrometheusWriter& out);

}  // namespace ballast::server
