// src/server/discovery_apply.cpp — a pool's discovery file changed: the new backend set is
// applied in place, the way the admin API's backend add and remove are: a new snapshot from the
// running config with that pool's backends replaced, no reload. Backends that stay keep their
// state (health, drain, connection counts live in BackendState, carried by address); backends
// that go take no new requests, and connections already open to them finish on their own.
#include <algorithm>
#include <iterator>
#include <set>

#include "config/discovery_file.h"
#include "core/clock.h"
#include "core/log.h"
#include "discovery/srv_groups.h"
#include "metrics/prometheus_writer.h"
#include "server/control_thread.h"

namespace ballast::server {
namespace {

using nlohmann::json;

// Order matters to no picker state that survives a snapshot, but a stable order keeps a
// re-sorted answer from counting as a change.
bool sameBackends(const std::vector<config::Backend>& a, const std::vector<config::Backend>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.address == y.address && x.weight == y.weight && x.srv_priority == y.srv_priority &&
           (x.health_check == nullptr) == (y.health_check == nullptr);
  });
}

// Addresses in `from` that `to` does not have.
json missingFrom(const std::vector<config::Backend>& from, const std::vector<config::Backend>& to) {
  std::set<std::string> kept;
  for (const auto& b : to) {
    kept.insert(b.address.toString());
  }
  json out = json::array();
  for (const auto& b : from) {
    if (!kept.contains(b.address.toString())) {
      out.push_back(b.address.toString());
    }
  }
  return out;
}

}  // namespace

config::ConfigPtr ControlThread::withResolvedBackends(const config::ConfigPtr& cfg) const {
  if (!dns_discovery_ || std::none_of(cfg->pools.begin(), cfg->pools.end(),
                                      [](const auto& p) { return p.resolvesNames(); })) {
    return cfg;
  }
  // A reload's file lists no resolved address: keep the answers in hand until the next ones.
  auto next = std::make_shared<config::Config>(*cfg);
  for (auto& pool : next->pools) {
    for (auto& b : dns_discovery_->resolved(pool)) {
      if (std::none_of(pool.backends.begin(), pool.backends.end(),
                       [&b](const auto& f) { return f.address == b.address; })) {
        pool.backends.push_back(std::move(b));
      }
    }
    discovery::groupBySrvPriority(pool);
  }
  return next;
}

void ControlThread::onDiscoveryChange() {
  auto next = std::make_shared<config::Config>(*config_);
  json changes = json::array();
  for (auto& pool : next->pools) {
    if (pool.resolvesNames() && dns_discovery_) {
      // The file's own backends, then what the names resolve to now.
      std::vector<config::Backend> found;
      std::copy_if(pool.backends.begin(), pool.backends.end(), std::back_inserter(found),
                   [](const auto& b) { return b.resolved_from.empty(); });
      for (auto& b : dns_discovery_->resolved(pool)) {
        const bool listed = std::any_of(found.begin(), found.end(),
                                        [&b](const auto& f) { return f.address == b.address; });
        if (!listed) {
          found.push_back(std::move(b));
        }
      }
      if (!sameBackends(found, pool.backends)) {
        changes.push_back({{"pool", pool.name},
                           {"source", "dns"},
                           {"added", missingFrom(found, pool.backends)},
                           {"removed", missingFrom(pool.backends, found)},
                           {"backends", found.size()}});
        pool.backends = std::move(found);
      }
      continue;
    }
    if (!pool.discovery.hasFile()) {
      continue;
    }
    std::vector<config::ConfigError> errors;
    auto found = config::discoverBackends(pool, next->allow_exec_checks, &errors);
    if (!found) {
      auto& counters = discovery_counters_[pool.name];
      ++counters.errors;
      counters.last_error = errors.empty() ? std::string("invalid") : errors.front().format();
      core::LogLine(core::LogLevel::kError, "discovery.rejected")
          .str("pool", pool.name)
          .str("file", pool.discovery.file)
          .str("error", errors.empty() ? std::string("invalid") : errors.front().format())
          .unum("errors", errors.size());
      continue;  // the last good set keeps serving
    }
    if (sameBackends(*found, pool.backends)) {
      continue;
    }
    changes.push_back({{"pool", pool.name},
                       {"source", "file"},
                       {"added", missingFrom(*found, pool.backends)},
                       {"removed", missingFrom(pool.backends, *found)},
                       {"backends", found->size()}});
    pool.backends = std::move(*found);
  }
  if (changes.empty()) {
    return;
  }
  if (draining_) {
    // A drained node serves no listener; the next reload reads the files again anyway.
    core::LogLine(core::LogLevel::kWarn, "discovery.deferred").str("reason", "node drained");
    return;
  }
  const uint64_t before = snapshot_->generation;
  std::string error;
  if (!install(next, &error)) {
    for (const auto& c : changes) {
      ++discovery_counters_[c["pool"].get<std::string>()].errors;
    }
    core::LogLine(core::LogLevel::kError, "discovery.apply_failed").str("reason", error);
    return;
  }
  for (const auto& c : changes) {
    const auto pool = c["pool"].get<std::string>();
    auto& counters = discovery_counters_[pool];
    ++counters.updates;
    counters.last_update_unix_ms = core::unixMs();
    if (c["source"] == "file") {
      counters.last_error.clear();
    }
    audit_.record("discovery.update", "discovery:" + c["source"].get<std::string>(),
                  {{"pool", pool}, {"generation", before}},
                  {{"pool", pool},
                   {"generation", snapshot_->generation},
                   {"added", c["added"]},
                   {"removed", c["removed"]},
                   {"backends", c["backends"]}});
    core::LogLine(core::LogLevel::kInfo, "discovery.updated")
        .str("pool", pool)
        .str("source", c["source"].get<std::string>())
        .unum("added", c["added"].size())
        .unum("removed", c["removed"].size())
        .unum("backends", c["backends"].get<uint64_t>())
        .unum("generation", snapshot_->generation);
  }
}

json ControlThread::discoveryJson(const config::Pool& pool) const {
  if (!pool.discovery.hasFile() && !pool.resolvesNames()) {
    return nullptr;
  }
  json out = json::object();
  if (pool.discovery.hasFile()) {
    const auto it = discovery_counters_.find(pool.name);
    const DiscoveryCounters none;
    const DiscoveryCounters& c = it == discovery_counters_.end() ? none : it->second;
    out["file"] = {{"path", pool.discovery.file},
                   {"updates", c.updates},
                   {"errors", c.errors},
                   {"last_update_unix_ms", c.last_update_unix_ms},
                   {"last_error", c.last_error.empty() ? json(nullptr) : json(c.last_error)}};
  }
  if (pool.resolvesNames()) {
    json names = json::array();
    for (const auto& b : pool.dns_backends) {
      names.push_back(b.host + ":" + std::to_string(b.port));
    }
    if (!pool.discovery.dns_srv.empty()) {
      names.push_back(pool.discovery.dns_srv);
    }
    discovery::DnsDiscovery::Counters c;
    if (dns_discovery_) {
      const auto it = dns_discovery_->counters().find(pool.name);
      if (it != dns_discovery_->counters().end()) {
        c = it->second;
      }
    }
    out["dns"] = {{"names", names},
                  {"srv", !pool.discovery.dns_srv.empty()},
                  {"lookups", c.lookups},
                  {"failures", c.failures},
                  {"last_answer_unix_ms", c.last_answer_unix_ms},
                  {"last_error", c.last_error.empty() ? json(nullptr) : json(c.last_error)}};
  }
  return out;
}

void ControlThread::writeDiscoveryMetrics(metrics::PrometheusWriter& out) const {
  if (dns_discovery_ && !dns_discovery_->counters().empty()) {
    out.family("ballast_discovery_dns_lookups_total", "counter",
               "DNS lookups made for a pool's named backends and SRV name.");
    for (const auto& [pool, c] : dns_discovery_->counters()) {
      out.sampleInt("ballast_discovery_dns_lookups_total", {{"pool", pool}}, c.lookups);
    }
    out.family("ballast_discovery_dns_failures_total", "counter",
               "DNS lookups that failed; the last good addresses kept serving.");
    for (const auto& [pool, c] : dns_discovery_->counters()) {
      out.sampleInt("ballast_discovery_dns_failures_total", {{"pool", pool}}, c.failures);
    }
  }
  if (discovery_counters_.empty() &&
      std::none_of(config_->pools.begin(), config_->pools.end(),
                   [](const auto& p) { return p.discovery.hasFile(); })) {
    return;
  }
  out.family("ballast_discovery_updates_total", "counter",
             "Backend sets a pool's discovery source changed and that were applied in place.");
  for (const auto& p : config_->pools) {
    if (p.discovery.hasFile()) {
      const auto it = discovery_counters_.find(p.name);
      out.sampleInt("ballast_discovery_updates_total", {{"pool", p.name}},
                    it == discovery_counters_.end() ? 0 : it->second.updates);
    }
  }
  out.family("ballast_discovery_errors_total", "counter",
             "Discovery reads refused (unreadable or invalid); the last good backend set serves.");
  for (const auto& p : config_->pools) {
    if (p.discovery.hasFile()) {
      const auto it = discovery_counters_.find(p.name);
      out.sampleInt("ballast_discovery_errors_total", {{"pool", p.name}},
                    it == discovery_counters_.end() ? 0 : it->second.errors);
    }
  }
}

}  // namespace ballast::server
