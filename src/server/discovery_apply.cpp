// src/server/discovery_apply.cpp — a pool's discovery file changed (or its DNS answer, or its
// Kubernetes EndpointSlices): the new backend set is applied in place, the way the admin API's
// backend add and remove are: a new snapshot from the running config with that pool's backends
// replaced, no reload. Backends that stay keep their state (health, drain, connection counts live
// in BackendState, carried by address); backends that go take no new requests, and connections
// already open to them finish on their own.
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
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

// Addresses of `to` at weight 0 that were not so in `from`: Kubernetes endpoints now terminating
// (still serving what they have, taking nothing new).
json newlyDrained(const std::vector<config::Backend>& from,
                  const std::vector<config::Backend>& to) {
  std::set<std::string> drained_before;
  for (const auto& b : from) {
    if (b.weight == 0) {
      drained_before.insert(b.address.toString());
    }
  }
  json out = json::array();
  for (const auto& b : to) {
    if (b.weight == 0 && !drained_before.contains(b.address.toString())) {
      out.push_back(b.address.toString());
    }
  }
  return out;
}

// ballast_discovery_kubernetes_*_total, per pool.
void writeKubernetesDiscoveryMetrics(
    metrics::PrometheusWriter& out,
    const std::map<std::string, discovery::KubernetesDiscovery::State>& states) {
  if (states.empty()) {
    return;
  }
  using State = discovery::KubernetesDiscovery::State;
  struct Family {
    const char* name;
    const char* help;
    uint64_t State::*field;
  };
  static constexpr std::array<Family, 5> kFamilies = {{
      {"ballast_discovery_kubernetes_lists_total", "EndpointSlice LISTs that answered.",
       &State::lists},
      {"ballast_discovery_kubernetes_watch_restarts_total",
       "EndpointSlice watches started again from the last resourceVersion.",
       &State::watch_restarts},
      {"ballast_discovery_kubernetes_relists_total",
       "Re-lists after 410 Gone (the watch's resourceVersion had expired).", &State::relists},
      {"ballast_discovery_kubernetes_events_total", "EndpointSlice watch events applied.",
       &State::events},
      {"ballast_discovery_kubernetes_errors_total",
       "Failed API requests, unreadable replies and ERROR events; the last good set serves.",
       &State::errors},
  }};
  for (const auto& f : kFamilies) {
    out.family(f.name, "counter", f.help);
    for (const auto& [pool, st] : states) {
      out.sampleInt(f.name, {{"pool", pool}}, st.*f.field);
    }
  }
}

}  // namespace

bool ControlThread::startKubernetesDiscovery() {
  kubernetes_event_fd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!kubernetes_event_fd_.valid()) {
    core::LogLine(core::LogLevel::kError, "discovery.eventfd_failed")
        .str("reason", strerror(errno));
    return false;
  }
  loop_->watch(kubernetes_watcher_, kubernetes_event_fd_.get(), this);
  const int fd = kubernetes_event_fd_.get();
  // Runs on a watch thread: only the eventfd crosses over; the loop then reads the sets.
  kubernetes_discovery_ = std::make_unique<discovery::KubernetesDiscovery>([fd] {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof(one));
  });
  kubernetes_discovery_->update(*config_);
  return true;
}

config::ConfigPtr ControlThread::withResolvedBackends(const config::ConfigPtr& cfg) const {
  const bool dns = dns_discovery_ && std::any_of(cfg->pools.begin(), cfg->pools.end(),
                                                 [](const auto& p) { return p.resolvesNames(); });
  const bool kubernetes = kubernetes_discovery_ &&
                          std::any_of(cfg->pools.begin(), cfg->pools.end(),
                                      [](const auto& p) { return p.discovery.hasKubernetes(); });
  if (!dns && !kubernetes) {
    return cfg;
  }
  // A reload's file lists no resolved address: keep the answers in hand until the next ones.
  auto next = std::make_shared<config::Config>(*cfg);
  for (auto& pool : next->pools) {
    if (pool.discovery.hasKubernetes()) {
      if (auto st = kubernetes_discovery_->state(pool.name); st && st->listed) {
        pool.backends = st->backends;
      }
      continue;
    }
    if (!dns) {
      continue;
    }
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
    if (pool.discovery.hasKubernetes()) {
      const auto st =
          kubernetes_discovery_ ? kubernetes_discovery_->state(pool.name) : std::nullopt;
      if (!st || !st->listed || sameBackends(st->backends, pool.backends)) {
        continue;  // nothing listed yet (the pool stays as it is), or nothing new
      }
      changes.push_back({{"pool", pool.name},
                         {"source", "kubernetes"},
                         {"added", missingFrom(st->backends, pool.backends)},
                         {"removed", missingFrom(pool.backends, st->backends)},
                         {"draining", newlyDrained(pool.backends, st->backends)},
                         {"resource_version", st->resource_version},
                         {"backends", st->backends.size()}});
      pool.backends = st->backends;
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
    json after = {{"pool", pool},
                  {"generation", snapshot_->generation},
                  {"added", c["added"]},
                  {"removed", c["removed"]},
                  {"backends", c["backends"]}};
    if (c.contains("draining")) {
      after["draining"] = c["draining"];
      after["resource_version"] = c["resource_version"];
    }
    audit_.record("discovery.update", "discovery:" + c["source"].get<std::string>(),
                  {{"pool", pool}, {"generation", before}}, after);
    core::LogLine(core::LogLevel::kInfo, "discovery.updated")
        .str("pool", pool)
        .str("source", c["source"].get<std::string>())
        .unum("added", c["added"].size())
        .unum("removed", c["removed"].size())
        .unum("draining", c.contains("draining") ? c["draining"].size() : 0)
        .unum("backends", c["backends"].get<uint64_t>())
        .unum("generation", snapshot_->generation);
  }
}

json ControlThread::discoveryJson(const config::Pool& pool) const {
  if (!pool.discovery.hasFile() && !pool.resolvesNames() && !pool.discovery.hasKubernetes()) {
    return nullptr;
  }
  json out = json::object();
  if (pool.discovery.hasKubernetes()) {
    const auto& k = pool.discovery.kubernetes;
    const auto st = kubernetes_discovery_ ? kubernetes_discovery_->state(pool.name) : std::nullopt;
    const discovery::KubernetesDiscovery::State none;
    const auto& s = st ? *st : none;
    const auto it = discovery_counters_.find(pool.name);
    json draining = json::array();
    for (const auto& b : s.backends) {
      if (b.weight == 0) {
        draining.push_back(b.address.toString());
      }
    }
    out["kubernetes"] = {{"namespace", k.namespace_name},
                         {"service", k.service},
                         {"port", k.port.empty() ? json(nullptr) : json(k.port)},
                         {"credentials", k.in_cluster ? std::string("in_cluster") : k.kubeconfig},
                         {"listed", s.listed},
                         {"resource_version", s.resource_version},
                         {"endpoints", s.backends.size()},
                         {"draining", draining},
                         {"lists", s.lists},
                         {"watch_restarts", s.watch_restarts},
                         {"relists", s.relists},
                         {"events", s.events},
                         {"errors", s.errors},
                         {"updates", it == discovery_counters_.end() ? 0 : it->second.updates},
                         {"last_update_unix_ms", s.last_update_unix_ms},
                         {"last_error", s.last_error.empty() ? json(nullptr) : json(s.last_error)}};
  }
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
  if (kubernetes_discovery_) {
    writeKubernetesDiscoveryMetrics(out, kubernetes_discovery_->states());
  }
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
      std::none_of(config_->pools.begin(), config_->pools.end(), [](const auto& p) {
        return p.discovery.hasFile() || p.discovery.hasKubernetes();
      })) {
    return;
  }
  out.family("ballast_discovery_updates_total", "counter",
             "Backend sets a pool's discovery source changed and that were applied in place.");
  for (const auto& p : config_->pools) {
    if (p.discovery.hasFile() || p.discovery.hasKubernetes()) {
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
