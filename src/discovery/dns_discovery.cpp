// src/discovery/dns_discovery.cpp — resolution schedule and last-good sets of DNS-named pools.
#include "discovery/dns_discovery.h"

#include <algorithm>
#include <chrono>

#include "core/clock.h"
#include "core/log.h"

namespace ballast::discovery {
namespace {

std::string keyOf(const std::string& pool, const std::string& name, uint16_t port, bool srv) {
  return pool + (srv ? "\nsrv\n" : "\na\n") + name + ":" + std::to_string(port);
}

// After a failure, try again soon, whatever the TTL bounds say: the set is stale meanwhile.
constexpr uint64_t kRetryAfterFailureMs = 1000;

}  // namespace

DnsDiscovery::DnsDiscovery(core::EventLoop& loop, std::function<void()> on_change)
    : loop_(loop), on_change_(std::move(on_change)) {}

DnsDiscovery::~DnsDiscovery() {
  for (auto& [key, e] : entries_) {
    core::TimerWheel::cancel(e->timer);
  }
  resolver_.reset();  // answers still in flight are dropped
}

void DnsDiscovery::update(const config::Config& cfg) {
  settings_ = cfg.discovery;
  if (resolver_ && settings_.resolvers != servers_) {
    resolver_.reset();  // new servers: a new channel
  }
  std::map<std::string, std::unique_ptr<Entry>> next;
  const auto keep = [&](const std::string& pool, const std::string& name, uint16_t port, bool srv,
                        uint32_t weight, std::shared_ptr<const config::HealthCheck> check) {
    const std::string key = keyOf(pool, name, port, srv);
    auto it = entries_.find(key);
    std::unique_ptr<Entry> e;
    if (it != entries_.end()) {
      e = std::move(it->second);
      entries_.erase(it);
    } else {
      e = std::make_unique<Entry>();
      e->owner = this;
      e->pool = pool;
      e->host = name;
      e->srv = srv;
      e->port = port;
      e->timer.bind(&DnsDiscovery::onTimer, e.get());
      loop_.timers().schedule(e->timer, 0);  // first lookup from the loop
    }
    e->weight = weight;
    e->health_check = std::move(check);
    next.emplace(key, std::move(e));
  };
  for (const auto& p : cfg.pools) {
    for (const auto& d : p.dns_backends) {
      keep(p.name, d.host, d.port, false, d.weight, d.health_check);
    }
    if (!p.discovery.dns_srv.empty()) {
      keep(p.name, p.discovery.dns_srv, 0, true, 1, nullptr);
    }
  }
  for (auto& [key, e] : entries_) {
    core::TimerWheel::cancel(e->timer);
  }
  entries_ = std::move(next);
  if (entries_.empty()) {
    resolver_.reset();
  }
}

std::vector<config::Backend> DnsDiscovery::resolved(const config::Pool& pool) const {
  std::vector<config::Backend> out;
  for (const auto& [key, e] : entries_) {
    if (e->pool != pool.name) {
      continue;
    }
    for (const auto& b : e->backends) {
      const bool dup = std::any_of(out.begin(), out.end(),
                                   [&b](const auto& o) { return o.address == b.address; });
      if (!dup) {
        out.push_back(b);
      }
    }
  }
  return out;
}

void DnsDiscovery::onTimer(void* self) {
  auto* e = static_cast<Entry*>(self);
  e->owner->resolve(*e);
}

uint64_t DnsDiscovery::clampTtlMs(uint32_t ttl_s) const {
  const auto ttl = std::chrono::milliseconds(uint64_t{ttl_s} * 1000);
  const auto clamped = std::clamp<std::chrono::milliseconds>(
      ttl, std::chrono::duration_cast<std::chrono::milliseconds>(settings_.min_ttl),
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.max_ttl));
  return static_cast<uint64_t>(clamped.count());
}

void DnsDiscovery::resolve(Entry& e) {
  if (!resolver_) {
    std::string error;
    resolver_ = DnsResolver::create(loop_, settings_.resolvers, &error);
    servers_ = settings_.resolvers;
    if (!resolver_) {
      finish(e, false, {}, 0, error);
      return;
    }
  }
  ++counters_[e.pool].lookups;
  const uint64_t generation = ++e.generation;
  Entry* entry = &e;
  if (!e.srv) {
    resolver_->lookup(e.host, e.port, [this, entry, generation](AddressAnswer a) {
      if (entry->generation != generation) {
        return;
      }
      std::vector<config::Backend> found;
      for (const auto& addr : a.addresses) {
        found.push_back({addr, entry->weight, entry->health_check, entry->host});
      }
      finish(*entry, a.ok, std::move(found), a.ttl_s, a.error);
    });
    return;
  }
  resolver_->lookupSrv(e.host, [this, entry, generation](SrvAnswer srv) {
    if (entry->generation != generation) {
      return;
    }
    if (!srv.ok || srv.records.empty()) {
      finish(*entry, srv.ok, {}, 0, srv.ok ? "" : srv.error);
      return;
    }
    // Every priority: each becomes a failover group of the pool (srv_groups.h), so a worse one
    // serves when the better ones are down, as RFC 2782 asks of clients.
    auto records = std::make_shared<std::vector<SrvRecord>>(srv.records);
    // Each target's addresses, gathered before one finish().
    struct Gather {
      std::vector<config::Backend> found;
      size_t left = 0;
      uint32_t ttl_s = UINT32_MAX;
      bool ok = true;
      std::string error;
    };
    auto gather = std::make_shared<Gather>();
    gather->left = records->size();
    for (const auto& r : *records) {
      const uint32_t weight =
          std::max<uint32_t>(1, std::min<uint32_t>(r.weight, config::kMaxWeight));
      const int32_t priority = r.priority;
      resolver_->lookup(r.target, r.port,
                        [this, entry, generation, gather, weight, priority](AddressAnswer a) {
                          if (entry->generation != generation) {
                            return;
                          }
                          if (a.ok) {
                            for (const auto& addr : a.addresses) {
                              config::Backend b{addr, weight, entry->health_check, entry->host};
                              b.srv_priority = priority;
                              gather->found.push_back(std::move(b));
                            }
                            gather->ttl_s = std::min(gather->ttl_s, a.ttl_s);
                          } else {
                            gather->ok = false;
                            gather->error = a.error;
                          }
                          if (--gather->left == 0) {
                            finish(*entry, gather->ok, std::move(gather->found),
                                   gather->ttl_s == UINT32_MAX ? 0 : gather->ttl_s, gather->error);
                          }
                        });
    }
  });
}

void DnsDiscovery::finish(Entry& e, bool ok, std::vector<config::Backend> found, uint32_t ttl_s,
                          const std::string& error) {
  if (!ok) {
    ++counters_[e.pool].failures;
    counters_[e.pool].last_error = e.host + ": " + error;
    core::LogLine(core::LogLevel::kWarn, "discovery.dns_failed")
        .str("pool", e.pool)
        .str("name", e.host)
        .str("reason", error)
        .unum("kept", e.backends.size());
    loop_.timers().schedule(e.timer, std::max(kRetryAfterFailureMs, clampTtlMs(0)));
    return;
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.address.toString() < b.address.toString();
  });
  const bool changed = !std::equal(found.begin(), found.end(), e.backends.begin(), e.backends.end(),
                                   [](const auto& a, const auto& b) {
                                     return a.address == b.address && a.weight == b.weight &&
                                            a.srv_priority == b.srv_priority;
                                   });
  e.backends = std::move(found);
  auto& counters = counters_[e.pool];
  counters.last_answer_unix_ms = core::unixMs();
  counters.last_error.clear();
  loop_.timers().schedule(e.timer, clampTtlMs(ttl_s));
  core::LogLine(core::LogLevel::kDebug, "discovery.dns_answer")
      .str("pool", e.pool)
      .str("name", e.host)
      .unum("addresses", e.backends.size())
      .unum("ttl_s", ttl_s);
  if (changed) {
    on_change_();
  }
}

}  // namespace ballast::discovery
