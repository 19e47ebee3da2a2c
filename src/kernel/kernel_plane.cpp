// src/kernel/kernel_plane.cpp — the reconcile loop. One timer drives it: the periodic interval,
// an immediate run after an event (config, health change, VIP change), or a backoff delay after
// a failure. Every pass reads the kernel, so drift (a rule deleted by hand) is repaired within
// one interval. With vip_gate, it runs only while a gated VIP is on this node.
#include "kernel/kernel_plane.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/log.h"
#include "kernel/desired_state.h"
#include "kernel/driver.h"
#include "kernel/reconciler.h"
#include "kernel/vip_watch.h"
#include "net/address.h"
#include "upstream/health_checker.h"

namespace ballast::kernel {
namespace {

// First retry after a failed pass, doubled per failure up to the cap: a kernel that refuses a
// transaction is not hammered, and a transient failure is retried quickly.
constexpr uint64_t kBackoffBaseMs = 250;
constexpr uint64_t kBackoffMaxMs = 30000;
constexpr uint32_t kBackoffMaxShift = 10;

class KernelPlane final : public control::Plane {
 public:
  explicit KernelPlane(const control::PlaneContext& ctx)
      : loop_(ctx.loop),
        audit_(ctx.audit),
        health_(ctx.loop, core::unixMs()),
        generation_(std::make_shared<std::atomic<uint64_t>>(0)),
        vip_(ctx.loop) {
    timer_.bind(&KernelPlane::onTimer, this);
    health_.setOnChange(
        [this](const upstream::HealthTarget& t, bool up, const std::string& /*why*/) {
          // Not inside the checker's own call chain: the timer runs the pass on the next turn.
          kick("health: " + t.pool + " " + t.backend->name + (up ? " up" : " down"), t.pool);
        });
    vip_.setOnChange([this] { kick("vip: local addresses changed"); });
  }

  ~KernelPlane() override { stop(); }

  std::string_view name() const override { return "kernel"; }

  bool apply(const config::ConfigPtr& config, std::string* error) override {
    const config::KernelSettings& k = config->kernel;
    if (!reconciler_ || k.driver != driver_kind_) {
      auto driver = makeDriver(k.driver, error);
      if (!driver) {
        return false;
      }
      if (reconciler_) {
        // Switching drivers: what the old one programmed would otherwise stay forever.
        std::string why;
        if (!reconciler_->driver().removeAll(&why)) {
          core::LogLine(core::LogLevel::kWarn, "kernel.remove_failed").str("reason", why);
        }
      }
      reconciler_ = std::make_unique<Reconciler>(std::move(driver));
      driver_kind_ = k.driver;
    }
    if (!k.vip_gate.addresses.empty() && !vip_started_) {
      if (!vip_.start(error)) {
        return false;
      }
      vip_started_ = true;
    } else if (k.vip_gate.addresses.empty() && vip_started_) {
      vip_.stop();
      vip_started_ = false;
    }
    config_ = config;
    setHealthTargets();
    stopped_ = false;
    kick("config");
    return true;
  }

  void stop() override {
    // The kernel keeps serving what was programmed: that is the point of a kernel data plane.
    // `ballast disable` removes it.
    stopped_ = true;
    core::TimerWheel::cancel(timer_);
    health_.setTargets({});
    if (vip_started_) {
      vip_.stop();
      vip_started_ = false;
    }
  }

  void writeMetrics(metrics::PrometheusWriter& out) const override {
    out.family("ballast_kernel_ha_state", "gauge",
               "1 while this node reconciles (active), 0 on standby (gated VIP elsewhere)");
    out.sampleInt("ballast_kernel_ha_state", {}, active_ ? 1 : 0);
    out.family("ballast_kernel_converged", "gauge",
               "1 when the last reconcile left the kernel matching the desired state");
    out.sampleInt("ballast_kernel_converged", {}, converged_ ? 1 : 0);
    out.family("ballast_kernel_reconciles_total", "counter", "Reconcile passes run");
    out.sampleInt("ballast_kernel_reconciles_total", {}, reconciles_);
    out.family("ballast_kernel_partial_reconciles_total", "counter",
               "Reconcile passes that compared only the services whose backend health changed");
    out.sampleInt("ballast_kernel_partial_reconciles_total", {}, partial_passes_);
    out.family("ballast_kernel_reconcile_errors_total", "counter",
               "Reconcile passes that failed (read, apply or verify)");
    out.sampleInt("ballast_kernel_reconcile_errors_total", {}, errors_);
    out.family("ballast_kernel_changes_applied_total", "counter",
               "Service changes applied to the kernel (add, remove, update)");
    out.sampleInt("ballast_kernel_changes_applied_total", {}, changes_applied_);
    out.family("ballast_kernel_drift_repairs_total", "counter",
               "Passes that found the kernel changed behind Ballast's back and repaired it");
    out.sampleInt("ballast_kernel_drift_repairs_total", {}, drift_repairs_);
    out.family("ballast_kernel_standby_removals_total", "counter",
               "Times the programmed services were removed because this node went standby");
    out.sampleInt("ballast_kernel_standby_removals_total", {}, standby_removals_);
    out.family("ballast_kernel_reconcile_duration_seconds", "gauge",
               "Wall time of the last reconcile pass");
    out.sample("ballast_kernel_reconcile_duration_seconds", {}, last_duration_s_);
    out.family("ballast_kernel_services", "gauge", "Virtual services in the config");
    out.sampleInt("ballast_kernel_services", {}, config_ ? config_->virtual_services.size() : 0);
    out.family("ballast_kernel_backend_up", "gauge",
               "1 when a virtual service's backend passes its health check");
    if (config_) {
      for (const auto& vs : config_->virtual_services) {
        for (const auto& b : vs.backends) {
          const std::string backend =
              b.address.port() == 0 ? b.address.hostString() : b.address.toString();
          out.sampleInt("ballast_kernel_backend_up", {{"service", vs.name}, {"backend", backend}},
                        isUp(vs.name, b.address) ? 1 : 0);
        }
      }
    }
  }

  nlohmann::json status() const override {
    nlohmann::json services = nlohmann::json::array();
    if (config_) {
      for (const auto& vs : config_->virtual_services) {
        nlohmann::json backends = nlohmann::json::array();
        for (const auto& b : vs.backends) {
          backends.push_back(
              {{"address", b.address.port() == 0 ? b.address.hostString() : b.address.toString()},
               {"weight", b.weight},
               {"up", isUp(vs.name, b.address)}});
        }
        services.push_back({{"name", vs.name},
                            {"vip", vs.vip.hostString()},
                            {"ports", vs.ports},
                            {"protocol", protocolName(vs.protocol)},
                            {"scheduler", schedulerName(vs.scheduler)},
                            {"forwarding", forwardingName(vs.forwarding)},
                            {"backends", std::move(backends)}});
      }
    }
    return {{"driver", reconciler_ ? std::string(reconciler_->driver().name()) : ""},
            {"ha_state", active_ ? "active" : "standby"},
            {"converged", converged_},
            {"last_error", last_error_},
            {"last_reconcile_unix_ms", last_reconcile_ms_},
            {"reconcile_interval_ms",
             config_ ? config_->kernel.reconcile_interval.count() : int64_t{0}},
            {"reconciles", reconciles_},
            {"partial_reconciles", partial_passes_},
            {"errors", errors_},
            {"changes_applied", changes_applied_},
            {"drift_repairs", drift_repairs_},
            {"services", std::move(services)}};
  }

 private:
  static void onTimer(void* self) { static_cast<KernelPlane*>(self)->pass(); }

  // `service`: the event concerns that virtual service only (a health change), so the pass it
  // starts may look at that service alone; empty: everything is looked at.
  void kick(std::string reason, const std::string& service = {}) {
    if (stopped_) {
      return;
    }
    reasons_.push_back(std::move(reason));
    if (service.empty()) {
      full_pass_due_ = true;
    } else {
      scope_.insert(service);
    }
    loop_.timers().schedule(timer_, 0);
  }

  // A health change needs only its services compared: at 1,000 services x 10 backends the
  // whole desired state and diff cost more than the change itself. Everything else, and a
  // failed or unconverged pass before, makes a full pass. The interval's own passes are full;
  // since each kick pushes the interval timer back, a full pass is also forced once the last
  // one is two intervals old, so flapping health cannot postpone the drift check for good.
  bool partialPassWanted() const {
    const auto since_full = std::chrono::steady_clock::now() - last_full_pass_;
    return !full_pass_due_ && !scope_.empty() && last_converged_ &&
           since_full < 2 * std::chrono::milliseconds(intervalMs());
  }

  bool isUp(const std::string& service, const net::SocketAddress& address) const {
    const auto svc = backends_.find(service);
    if (svc == backends_.end()) {
      return true;
    }
    const auto it = svc->second.find(address);
    return it == svc->second.end() || it->second->healthy.load(std::memory_order_relaxed);
  }

  // Backend health survives reloads: a backend kept by the new config keeps its state.
  void setHealthTargets() {
    std::unordered_map<std::string, BackendStates> next;
    std::vector<upstream::HealthTarget> targets;
    for (const auto& vs : config_->virtual_services) {
      for (const auto& b : vs.backends) {
        net::SocketAddress probe = b.address;
        if (probe.port() == 0 && !vs.ports.empty()) {
          probe.setPort(vs.ports.front());  // DR/tunnel backends listen on the VIP's port
        }
        upstream::BackendStatePtr state;
        if (const auto svc = backends_.find(vs.name); svc != backends_.end()) {
          if (const auto it = svc->second.find(b.address); it != svc->second.end()) {
            state = it->second;
          }
        }
        if (!state) {
          state = std::make_shared<upstream::BackendState>(probe);
        }
        next[vs.name].emplace(b.address, state);
        if (vs.health_check && vs.health_check->type != config::HealthCheckType::kNone) {
          targets.push_back({vs.name, state, *vs.health_check, generation_});
        } else {
          state->healthy.store(true, std::memory_order_relaxed);
        }
      }
    }
    backends_ = std::move(next);
    health_.setTargets(std::move(targets));
  }

  std::string takeReasons() {
    if (reasons_.empty()) {
      return "interval";
    }
    std::string out;
    for (const auto& r : reasons_) {
      out += (out.empty() ? "" : "; ") + r;
    }
    reasons_.clear();
    return out;
  }

  bool gateOpen() const {
    const auto& addresses = config_->kernel.vip_gate.addresses;
    return addresses.empty() || std::any_of(addresses.begin(), addresses.end(),
                                            [this](const auto& a) { return vip_.has(a); });
  }

  void schedule(uint64_t delay_ms) {
    if (!stopped_) {
      loop_.timers().schedule(timer_, delay_ms);
    }
  }

  uint64_t intervalMs() const {
    return static_cast<uint64_t>(config_->kernel.reconcile_interval.count());
  }

  void setHaState(bool active, const std::string& reason) {
    if (ha_known_ && active == active_) {
      return;
    }
    const char* before = ha_known_ ? (active_ ? "active" : "standby") : "unknown";
    const char* after = active ? "active" : "standby";
    active_ = active;
    ha_known_ = true;
    core::LogLine(core::LogLevel::kInfo, "kernel.ha_state")
        .str("from", before)
        .str("to", after)
        .str("reason", reason);
    audit_.record("kernel.ha_state", "system", {{"ha_state", before}},
                  {{"ha_state", after}, {"reason", reason}});
  }

  void pass() {
    if (stopped_ || !config_ || !reconciler_) {
      return;
    }
    const bool gated = !config_->kernel.vip_gate.addresses.empty();
    if (gated && !vip_.ready()) {
      return;  // the first address dump is still coming; its end kicks us
    }
    const bool partial = partialPassWanted();
    const std::set<std::string> scope = std::exchange(scope_, {});
    const std::string reason = takeReasons();
    setHaState(gateOpen(), gated ? "vip_gate" : "no vip_gate");
    if (!active_) {
      standbyPass(reason);
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    KernelState desired = desiredState(
        *config_, [this](const std::string& s, const auto& a) { return isUp(s, a); },
        partial ? &scope : nullptr);
    ReconcileResult r = reconciler_->reconcile(desired, /*dry_run=*/false, partial);
    last_duration_s_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++reconciles_;
    partial_passes_ += partial ? 1 : 0;
    last_reconcile_ms_ = static_cast<int64_t>(core::unixMs());
    // A partial pass is only for health changes, which are never drift.
    const bool drift = !partial && !r.diff.empty() && last_converged_ && desired == last_desired_;
    if (!r.diff.empty() && r.stage != "read") {
      recordChanges(r, drift ? "drift: " + reason : reason, partial);
    }
    converged_ = r.ok && r.converged;
    if (!converged_) {
      full_pass_due_ = true;
      fail(r.stage, r.error);
      return;
    }
    if (!r.diff.empty()) {
      changes_applied_ += r.diff.changes.size() + (r.diff.repair_scaffold ? 1 : 0);
      drift_repairs_ += drift ? 1 : 0;
    }
    if (partial) {
      rememberDesired(std::move(desired));
    } else {
      last_desired_ = std::move(desired);
      last_full_pass_ = start;
      full_pass_due_ = false;
    }
    last_converged_ = true;
    failures_ = 0;
    last_error_.clear();
    schedule(intervalMs());
  }

  // A partial pass's services replace theirs in last_desired_ (both sorted by identity), so
  // that the next full pass tells drift from a change as before.
  void rememberDesired(KernelState partial) {
    for (auto& s : partial.services) {
      if (const auto at = last_desired_.find(s); at != last_desired_.services.end()) {
        *at = std::move(s);
      }
    }
  }

  void recordChanges(const ReconcileResult& r, const std::string& reason, bool partial) {
    const bool applied = r.stage != "apply";  // failed at apply: nothing changed
    core::LogLine(applied ? core::LogLevel::kInfo : core::LogLevel::kWarn,
                  applied ? "kernel.applied" : "kernel.apply_refused")
        .str("reason", reason)
        .unum("added", r.diff.count(ServiceChange::Kind::kAdd))
        .unum("updated", r.diff.count(ServiceChange::Kind::kUpdate))
        .unum("removed", r.diff.count(ServiceChange::Kind::kRemove))
        .flag("scaffold_repaired", r.diff.repair_scaffold)
        .flag("partial", partial)
        .real("read_ms", r.read_s * 1000)
        .real("apply_ms", r.apply_s * 1000)
        .real("verify_ms", r.verify_s * 1000)
        .real("pass_ms", last_duration_s_ * 1000);  // with building the desired state and the diff
    if (applied) {
      nlohmann::json before = nlohmann::json::array();
      for (const auto& c : r.diff.changes) {
        if (c.kind != ServiceChange::Kind::kAdd) {
          before.push_back(toJson(c.observed));
        }
      }
      nlohmann::json after = r.diff.toJson();
      after["reason"] = reason;
      audit_.record("kernel.apply", "system", std::move(before), std::move(after));
    }
  }

  void fail(const std::string& stage, const std::string& error) {
    ++errors_;
    last_converged_ = false;
    last_error_ = stage + ": " + error;
    const uint64_t delay =
        std::min(kBackoffMaxMs, kBackoffBaseMs << std::min(failures_, kBackoffMaxShift));
    ++failures_;
    core::LogLine(core::LogLevel::kWarn, "kernel.reconcile_failed")
        .str("stage", stage)
        .str("reason", error)
        .unum("retry_ms", delay)
        .unum("failures", failures_);
    schedule(std::min(delay, std::max(intervalMs(), kBackoffBaseMs)));
  }

  // Standby: the VIP is elsewhere. With on_standby: remove, keep the kernel empty of our
  // services (checked every interval, so a stale table left by a crash goes too).
  void standbyPass(const std::string& reason) {
    last_converged_ = false;
    converged_ = false;
    if (config_->kernel.vip_gate.on_standby == config::OnStandby::kKeep) {
      schedule(intervalMs());
      return;
    }
    std::string error;
    auto observed = reconciler_->driver().read(&error);
    if (!observed) {
      fail("read", error);
      return;
    }
    if (!observed->empty_kernel || !observed->services.empty()) {
      if (!reconciler_->driver().removeAll(&error)) {
        fail("remove", error);
        return;
      }
      ++standby_removals_;
      core::LogLine(core::LogLevel::kInfo, "kernel.standby_removed")
          .unum("services", observed->services.size())
          .str("reason", reason);
      audit_.record("kernel.standby_remove", "system", toJson(*observed),
                    {{"services", nlohmann::json::array()}, {"reason", reason}});
    }
    failures_ = 0;
    last_error_.clear();
    schedule(intervalMs());
  }

  core::EventLoop& loop_;
  control::AuditLog& audit_;
  config::ConfigPtr config_;
  std::unique_ptr<Reconciler> reconciler_;
  config::KernelDriver driver_kind_ = config::KernelDriver::kNftables;
  upstream::HealthChecker health_;
  std::shared_ptr<std::atomic<uint64_t>> generation_;
  // Looked up for every backend on every pass (10,000 at the benched size): hashed, and
  // keyed by the address itself rather than its text.
  using BackendStates =
      std::unordered_map<net::SocketAddress, upstream::BackendStatePtr, net::SocketAddressHash>;
  std::unordered_map<std::string, BackendStates> backends_;  // service → its backends
  VipWatch vip_;
  bool vip_started_ = false;
  core::Timer timer_;
  std::vector<std::string> reasons_;
  std::set<std::string> scope_;  // services named by health kicks since the last pass
  bool full_pass_due_ = true;
  std::chrono::steady_clock::time_point last_full_pass_{};
  uint64_t partial_passes_ = 0;
  bool stopped_ = false;
  bool active_ = true;
  bool ha_known_ = false;
  bool converged_ = false;
  KernelState last_desired_;
  bool last_converged_ = false;
  uint32_t failures_ = 0;
  uint64_t reconciles_ = 0;
  uint64_t errors_ = 0;
  uint64_t changes_applied_ = 0;
  uint64_t drift_repairs_ = 0;
  uint64_t standby_removals_ = 0;
  double last_duration_s_ = 0;
  int64_t last_reconcile_ms_ = 0;
  std::string last_error_;
};

}  // namespace

std::unique_ptr<control::Plane> makeKernelPlane(const control::PlaneContext& ctx) {
  return std::make_unique<KernelPlane>(ctx);
}

}  // namespace ballast::kernel
