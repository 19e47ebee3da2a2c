// src/server/control_ops.cpp — what the admin API reads and changes: status, listeners, pools
// and backends, runtime backend changes, node drain.
#include <unistd.h>

#include <algorithm>

#include "config/config_json.h"
#include "core/clock.h"
#include "core/log.h"
#include "metrics/proxy_metrics.h"
#include "server/control_thread.h"
#include "upstream/slow_start.h"

namespace ballast::server {
namespace {

using nlohmann::json;

std::string_view adminStateName(uint8_t s) {
  switch (static_cast<upstream::AdminState>(s)) {
    case upstream::AdminState::kDrain:
      return "drain";
    case upstream::AdminState::kDisabled:
      return "disabled";
    default:
      return "enabled";
  }
}

json statusClasses(const std::array<uint64_t, metrics::kStatusClasses>& r) {
  return {{"1xx", r[0]}, {"2xx", r[1]}, {"3xx", r[2]}, {"4xx", r[3]}, {"5xx", r[4]}};
}

constexpr std::string_view kRuntimeOnly =
    "runtime change: lasts until the next reload unless the file says the same";

}  // namespace

bool ControlThread::ready() const { return snapshot_ != nullptr && !draining_ && !stop_; }

json ControlThread::status() const {
  const auto& cfg = *config_;
  json planes = json::array({"proxy"});
  if (kernel_plane_) {
    planes.push_back("kernel");
  }
  if (uplink_plane_) {
    planes.push_back("uplink");
  }
  if (bgp_plane_) {
    planes.push_back("bgp");
  }
  json s = {{"version", BALLAST_VERSION},
            {"pid", getpid()},
            {"uptime_seconds", (core::monotonicMs() - started_ms_) / 1000},  // NOLINT
            {"started_unix_ms", started_unix_ms_},
            {"config_file", options_.config_path},
            {"config_generation", snapshot_->generation},
            {"workers", workers_.size()},
            {"io", io_name_},
            {"listeners", cfg.listeners.size()},
            {"pools", cfg.pools.size()},
            {"draining", draining_},
            {"ready", ready()},
            {"reloads", reloads_total_},
            {"reload_failures", reload_failures_total_},
            {"planes", planes}};
  if (kernel_plane_) {
    const auto k = kernel_plane_->status();
    if (k.contains("ha_state")) {
      s["ha_state"] = k["ha_state"];
    }
  }
  return s;
}

json ControlThread::listeners() const {
  const auto totals = metrics::proxyMetrics().listenerTotals();
  json out = json::array();
  for (const auto& l : config_->listeners) {
    json j = {{"name", l.name},
              {"bind", l.bind.toString()},
              {"protocol", protocolName(l.protocol)},
              {"pool", l.pool},
              {"accepting", !draining_}};
    const auto it = totals.find(l.name);
    if (it != totals.end()) {
      const auto& t = it->second;
      j["connections_active"] = t.connections_active;
      j["connections_total"] = t.connections_total;
      j["bytes_in"] = t.bytes_in_total;
      j["bytes_out"] = t.bytes_out_total;
      if (config::isHttp(l.protocol)) {
        j["requests_total"] = t.requests_total;
        j["responses"] = statusClasses(t.responses_total);
      }
    }
    out.push_back(std::move(j));
  }
  return out;
}

json ControlThread::backendJson(const upstream::PoolRuntime& pool, size_t index) const {
  const auto& state = *pool.backends[index];
  const auto& cfg = pool.config->backends[index];
  const auto check = health_ ? health_->status(state) : std::nullopt;
  const bool checked = check.has_value();
  const bool healthy = state.healthy.load(std::memory_order_relaxed);
  json j = {{"address", state.name},
            {"weight", state.weight(cfg.weight)},
            {"config_weight", cfg.weight},
            // What the pickers use now: lower than weight while slow start ramps.
            {"effective_weight",
             upstream::slowStartWeight(
                 state.weight(cfg.weight), state.up_since_ms.load(std::memory_order_relaxed),
                 core::monotonicMs(), static_cast<uint64_t>(pool.config->slow_start.count()))},
            {"health", !checked  ? "unchecked"
                       : healthy ? "up"
                                 : "down"},
            {"admin_state", adminStateName(state.admin_state.load(std::memory_order_relaxed))},
            {"active_connections", state.active.load(std::memory_order_relaxed)}};
  if (pool.config->outlier.enabled) {
    const auto& o = state.outlier;
    json outlier = {
        {"ejected", upstream::isEjected(state)},
        {"times_ejected", o.times_ejected.load(std::memory_order_relaxed)},
        {"consecutive_5xx", o.consecutive_5xx.load(std::memory_order_relaxed)},
        {"consecutive_gateway_failures", o.consecutive_gateway.load(std::memory_order_relaxed)}};
    if (upstream::isEjected(state)) {
      const uint64_t now = core::monotonicMs();
      const uint64_t until = o.ejected_until_ms.load(std::memory_order_relaxed);
      outlier["reason"] = upstream::ejectReasonName(
          static_cast<upstream::EjectReason>(o.reason.load(std::memory_order_relaxed)));
      outlier["remaining_ms"] = until > now ? until - now : 0;
    }
    j["outlier"] = std::move(outlier);
  }
  j["ejected"] = upstream::isEjected(state);
  if (checked) {
    constexpr double kUsPerMs = 1000.0;
    j["check_latency_ms"] =
        static_cast<double>(state.check_latency_us.load(std::memory_order_relaxed)) / kUsPerMs;
    json c = {{"type", config::healthCheckTypeName(check->type)},
              {"target", check->target},
              {"interval_ms", check->interval_ms},
              {"successes_in_a_row", check->ok_streak},
              {"failures_in_a_row", check->fail_streak}};
    if (check->has_result) {
      c["last_result"] = check->last_ok ? "ok" : "failed";
      c["last_reason"] = check->last_reason;
    }
    j["check"] = std::move(c);
  }
  return j;
}

json ControlThread::pools() const {
  json out = json::array();
  for (const auto& p : snapshot_->pools) {
    out.push_back(*pool(p->config->name));
  }
  return out;
}

std::optional<json> ControlThread::pool(const std::string& name) const {
  const int index = snapshot_->poolIndex(name);
  if (index < 0) {
    return std::nullopt;
  }
  const auto& p = *snapshot_->pools[static_cast<size_t>(index)];
  const auto totals = metrics::proxyMetrics().backendTotals();
  json backends = json::array();
  size_t up = 0;
  for (size_t i = 0; i < p.backends.size(); ++i) {
    json b = backendJson(p, i);
    if (b["health"] != "down" && !b["ejected"].get<bool>() && b["admin_state"] == "enabled" &&
        b["weight"] != 0) {
      ++up;
    }
    const auto it = totals.find({name, p.backends[i]->name});
    if (it != totals.end()) {
      const auto& t = it->second;
      b["connections_total"] = t.connections_total;
      b["connect_errors"] = t.connect_errors_total;
      b["requests_total"] = t.requests_total;
      b["responses"] = statusClasses(t.responses_total);
    }
    backends.push_back(std::move(b));
  }
  json out{{"name", name},
           {"algorithm", balance::algorithmName(p.config->algorithm)},
           {"backends_up", up},
           {"backends", backends}};
  // The running config's pool: its discovery state is the control thread's, not the snapshot's.
  for (const auto& cp : config_->pools) {
    if (cp.name == name) {
      if (json d = discoveryJson(cp); !d.is_null()) {
        out["discovery"] = std::move(d);
      }
    }
  }
  return out;
}

control::AdminResponse ControlThread::backendAction(const control::BackendAction& a) {
  using control::AdminResponse;
  using control::BackendVerb;
  const int index = snapshot_->poolIndex(a.pool);
  if (index < 0) {
    return AdminResponse::error(404, "not_found", "no pool named " + a.pool);
  }
  const auto& pool = *snapshot_->pools[static_cast<size_t>(index)];
  if (a.verb == BackendVerb::kAdd || a.verb == BackendVerb::kRemove) {
    const auto addr = net::SocketAddress::parse(a.backend);
    if (!addr) {
      return AdminResponse::error(400, "bad_request", "backend must be host:port: " + a.backend);
    }
    auto next = std::make_shared<config::Config>(*config_);
    auto& backends = next->pools[static_cast<size_t>(index)].backends;
    const auto found = std::find_if(backends.begin(), backends.end(),
                                    [&](const auto& b) { return b.address == *addr; });
    if (a.verb == BackendVerb::kAdd) {
      if (found != backends.end()) {
        return AdminResponse::error(409, "conflict", a.backend + " is already in " + a.pool);
      }
      backends.push_back({*addr, a.weight});
    } else {
      if (found == backends.end()) {
        return AdminResponse::error(404, "not_found", a.backend + " is not in " + a.pool);
      }
      backends.erase(found);
    }
    if (draining_) {
      return AdminResponse::error(409, "draining",
                                  "the node is drained; reload first, then change backends");
    }
    std::string error;
    if (!install(next, &error)) {
      return AdminResponse::error(500, "apply_failed", error);
    }
    const json detail = {{"pool", a.pool}, {"backend", addr->toString()}, {"weight", a.weight}};
    audit_.record(a.verb == BackendVerb::kAdd ? "admin.backend_add" : "admin.backend_remove",
                  a.actor, a.verb == BackendVerb::kAdd ? json(nullptr) : detail,
                  a.verb == BackendVerb::kAdd ? detail : json(nullptr));
    return AdminResponse::json(a.verb == BackendVerb::kAdd ? 201 : 200,
                               {{"pool", a.pool},
                                {"backend", addr->toString()},
                                {"result", a.verb == BackendVerb::kAdd ? "added" : "removed"},
                                {"persists_across_reload", false},
                                {"note", kRuntimeOnly},
                                {"generation", snapshot_->generation}});
  }
  size_t bi = 0;
  for (; bi < pool.backends.size(); ++bi) {
    if (pool.backends[bi]->name == a.backend) {
      break;
    }
  }
  if (bi == pool.backends.size()) {
    const auto addr = net::SocketAddress::parse(a.backend);
    for (bi = 0; addr && bi < pool.backends.size(); ++bi) {
      if (pool.backends[bi]->address == *addr) {
        break;
      }
    }
    if (bi == pool.backends.size()) {
      return AdminResponse::error(404, "not_found", a.backend + " is not in " + a.pool);
    }
  }
  auto& state = *pool.backends[bi];
  const json before = backendJson(pool, bi);
  std::string kind;
  bool persists = false;
  switch (a.verb) {
    case BackendVerb::kWeight:
      state.weight_override.store(static_cast<int32_t>(a.weight), std::memory_order_relaxed);
      kind = "admin.backend_weight";
      break;
    case BackendVerb::kDrain:
    case BackendVerb::kDisable:
    case BackendVerb::kEnable: {
      const auto s = a.verb == BackendVerb::kDrain     ? upstream::AdminState::kDrain
                     : a.verb == BackendVerb::kDisable ? upstream::AdminState::kDisabled
                                                       : upstream::AdminState::kEnabled;
      const auto was = static_cast<upstream::AdminState>(
          state.admin_state.exchange(static_cast<uint8_t>(s), std::memory_order_relaxed));
      if (was != upstream::AdminState::kEnabled && s == upstream::AdminState::kEnabled) {
        // Back from maintenance: slow start ramps it as it would a backend that came up.
        state.up_since_ms.store(core::monotonicMs(), std::memory_order_relaxed);
      }
      state.drained.store(s != upstream::AdminState::kEnabled, std::memory_order_relaxed);
      kind = a.verb == BackendVerb::kDrain     ? "admin.backend_drain"
             : a.verb == BackendVerb::kDisable ? "admin.backend_disable"
                                               : "admin.backend_enable";
      persists = true;  // operational state, kept across reloads like health
      break;
    }
    default:
      break;
  }
  pool.generation->fetch_add(1, std::memory_order_release);
  evaluateFailover(a.actor);  // a drain or disable may leave a group short
  json after = backendJson(pool, bi);
  audit_.record(kind, a.actor, json{{"pool", a.pool}, {"backend", before}},
                json{{"pool", a.pool}, {"backend", after}});
  after["persists_across_reload"] = persists;
  after["note"] = persists ? "kept across reloads until changed again" : kRuntimeOnly;
  return AdminResponse::json(200, {{"pool", a.pool}, {"backend", after}});
}

json ControlThread::effectiveConfig() const { return config::toJson(*config_); }

control::AdminResponse ControlThread::drainNode(const std::string& actor) {
  if (draining_) {
    return control::AdminResponse::json(200, {{"draining", true}, {"changed", false}});
  }
  // Publishing the config without listeners closes every listening socket: new connections
  // go to the other nodes; open ones finish. A reload brings the listeners back.
  auto next = std::make_shared<config::Config>(*config_);
  next->listeners.clear();
  std::string error;
  auto snap = builder_->build(next, snapshot_.get(), &error);
  if (!snap) {
    return control::AdminResponse::error(500, "apply_failed", error);
  }
  snapshot_ = snap;
  for (auto& w : workers_) {
    w->publish(snapshot_);
  }
  draining_ = true;
  updateBgp("drain");
  audit_.record("admin.node_drain", actor, {{"draining", false}}, {{"draining", true}});
  core::LogLine(core::LogLevel::kWarn, "server.draining").str("actor", actor);
  return control::AdminResponse::json(
      200, {{"draining", true},
            {"changed", true},
            {"note", "listeners closed; open connections finish; POST /api/v1/reload resumes"}});
}

std::optional<json> ControlThread::planeStatus(std::string_view plane) const {
  if (plane == "services" && kernel_plane_) {
    return kernel_plane_->status();
  }
  if (plane == "uplinks" && uplink_plane_) {
    return uplink_plane_->status();
  }
  if (plane == "bgp" && bgp_plane_) {
    return bgp_plane_->status();
  }
  return std::nullopt;
}

control::AdminResponse ControlThread::upgrade(const control::AdminRequest& request) {
  HandoverSockets s;
  for (const auto& sockets : snapshot_->sockets) {
    std::vector<int> fds;
    for (const auto& fd : sockets->per_worker) {
      fds.push_back(fd.get());
    }
    s.listeners.emplace_back(sockets->key, std::move(fds));
  }
  if (admin_) {
    s.admin_unix = admin_->listenerFds(true);
    s.admin_tcp = admin_->listenerFds(false);
  }
  if (metrics_server_) {
    s.metrics = metrics_server_->listenerFds(false);
  }
  core::LogLine(core::LogLevel::kInfo, "server.upgrade_requested")
      .str("actor", request.actor)
      .unum("listeners", s.listeners.size());
  std::string error;
  if (!sendHandover(request.connection_fd, s, &error)) {
    core::LogLine(core::LogLevel::kError, "server.upgrade_aborted").str("reason", error);
    audit_.record("upgrade.aborted", request.actor, nullptr, {{"reason", error}});
    return control::AdminResponse::error(500, "upgrade_aborted", error);
  }
  // The new process accepts on these sockets now: stop accepting without shutting them down,
  // drain what we have, and exit.
  for (const auto& sockets : snapshot_->sockets) {
    sockets->handed_over.store(true, std::memory_order_release);
  }
  handed_over_ = true;
  stop_ = true;
  audit_.record("upgrade.handed_over", request.actor, {{"pid", getpid()}}, nullptr);
  core::LogLine(core::LogLevel::kInfo, "server.upgrade_handed_over");
  return control::AdminResponse::json(200, {{"handed_over", true}, {"old_pid", getpid()}});
}

}  // namespace ballast::server
