// src/discovery/dns_discovery.h — keeps the backends of DNS-named pools resolved: each name
// (`address: "app.internal:8080"`) and each pool's SRV name is looked up on the control loop,
// again when its TTL runs out (clamped to discovery.min_ttl..max_ttl), and a change calls back
// so the control thread applies the pool's new set in place. A failed lookup keeps the last
// good set and is counted.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "discovery/dns_resolver.h"

namespace ballast::discovery {

class DnsDiscovery {
 public:
  DnsDiscovery(core::EventLoop& loop, std::function<void()> on_change);
  ~DnsDiscovery();
  DnsDiscovery(const DnsDiscovery&) = delete;
  DnsDiscovery& operator=(const DnsDiscovery&) = delete;

  // Resolves what `cfg` names from now on; names it still has keep their last answers.
  // Lookups start from the loop, never inside this call.
  void update(const config::Config& cfg);

  // The backends `pool`'s names resolve to now (empty until the first answer).
  std::vector<config::Backend> resolved(const config::Pool& pool) const;

  struct Counters {
    uint64_t lookups = 0;
    uint64_t failures = 0;             // the last good set served on
    uint64_t last_answer_unix_ms = 0;  // the last lookup that answered (0: none yet)
    std::string last_error;            // of the last lookup, if it failed; else empty
  };
  // By pool name.
  const std::map<std::string, Counters>& counters() const { return counters_; }

 private:
  struct Entry {
    DnsDiscovery* owner = nullptr;
    std::string pool;
    std::string host;  // or the SRV name
    bool srv = false;
    uint16_t port = 0;
    uint32_t weight = 1;
    std::shared_ptr<const config::HealthCheck> health_check;
    std::vector<config::Backend> backends;  // the last good answer
    core::Timer timer;
    uint64_t generation = 0;  // answers to an older lookup are dropped
  };
  static void onTimer(void* self);
  void resolve(Entry& e);
  void finish(Entry& e, bool ok, std::vector<config::Backend> found, uint32_t ttl_s,
              const std::string& error);
  uint64_t clampTtlMs(uint32_t ttl_s) const;

  core::EventLoop& loop_;
  std::function<void()> on_change_;
  std::unique_ptr<DnsResolver> resolver_;
  std::vector<net::SocketAddress> servers_;
  config::DiscoverySettings settings_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;  // by pool + name
  std::map<std::string, Counters> counters_;
};

}  // namespace ballast::discovery
