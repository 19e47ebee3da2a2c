// src/server/discovery_apply.cpp — a pool's discovery file changed: the new backend set is
// applied in place, the way the admin API's backend add and remove are: a new snapshot from the
// running config with that pool's backends replaced, no reload. Backends that stay keep their
// state (health, drain, connection counts live in BackendState, carried by address); backends
// that go take no new requests, and connections already open to them finish on their own.
#include <algorithm>
#include <set>

#include "config/discovery_file.h"
#include "core/log.h"
#include "metrics/prometheus_writer.h"
#include "server/control_thread.h"

namespace ballast::server {
namespace {

using nlohmann::json;

bool sameBackends(const std::vector<config::Backend>& a, const std::vector<config::Backend>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.address == y.address && x.weight == y.weight &&
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

void ControlThread::onDiscoveryChange() {
  auto next = std::make_shared<config::Config>(*config_);
  json changes = json::array();
  for (auto& pool : next->pools) {
    if (!pool.discovery.enabled()) {
      continue;
    }
    std::vector<config::ConfigError> errors;
    auto found = config::discoverBackends(pool, next->allow_exec_checks, &errors);
    if (!found) {
      ++discovery_counters_[pool.name].errors;
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
    ++discovery_counters_[pool].updates;
    audit_.record("discovery.update", "discovery:file", {{"pool", pool}, {"generation", before}},
                  {{"pool", pool},
                   {"generation", snapshot_->generation},
                   {"added", c["added"]},
                   {"removed", c["removed"]},
                   {"backends", c["backends"]}});
    core::LogLine(core::LogLevel::kInfo, "discovery.updated")
        .str("pool", pool)
        .unum("added", c["added"].size())
        .unum("removed", c["removed"].size())
        .unum("backends", c["backends"].get<uint64_t>())
        .unum("generation", snapshot_->generation);
  }
}

void ControlThread::writeDiscoveryMetrics(metrics::PrometheusWriter& out) const {
  if (discovery_counters_.empty() &&
      std::none_of(config_->pools.begin(), config_->pools.end(),
                   [](const auto& p) { return p.discovery.enabled(); })) {
    return;
  }
  out.family("ballast_discovery_updates_total", "counter",
             "Backend sets a pool's discovery source changed and that were applied in place.");
  for (const auto& p : config_->pools) {
    if (p.discovery.enabled()) {
      const auto it = discovery_counters_.find(p.name);
      out.sampleInt("ballast_discovery_updates_total", {{"pool", p.name}},
                    it == discovery_counters_.end() ? 0 : it->second.updates);
    }
  }
  out.family("ballast_discovery_errors_total", "counter",
             "Discovery reads refused (unreadable or invalid); the last good backend set serves.");
  for (const auto& p : config_->pools) {
    if (p.discovery.enabled()) {
      const auto it = discovery_counters_.find(p.name);
      out.sampleInt("ballast_discovery_errors_total", {{"pool", p.name}},
                    it == discovery_counters_.end() ? 0 : it->second.errors);
    }
  }
}

}  // namespace ballast::server
