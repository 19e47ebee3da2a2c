// src/server/outlier_sweep.cpp — the control thread's side of outlier detection: a short
// periodic sweep that ends ejections whose time is up, runs the success-rate test, and logs and
// audits what the workers and the sweep changed; and the return of an ejected backend that its
// active check sees come back up.
#include <vector>

#include "control/audit_log.h"
#include "core/clock.h"
#include "core/log.h"
#include "server/control_thread.h"
#include "upstream/outlier.h"

namespace ballast::server {
namespace {

// How late an ejection may end or be reported: small against any sane base_ejection_time, and
// four wake-ups a second cost nothing.
constexpr uint64_t kOutlierSweepMs = 250;

}  // namespace

void ControlThread::startOutlierSweep() {
  loop_->timers().schedule(outlier_sweep_, kOutlierSweepMs);
}

void ControlThread::onOutlierSweep(void* self) {
  auto* t = static_cast<ControlThread*>(self);
  std::vector<const upstream::PoolRuntime*> pools;
  pools.reserve(t->snapshot_->pools.size());
  for (const auto& p : t->snapshot_->pools) {
    pools.push_back(p.get());
  }
  const auto events = t->outlier_sweeper_.sweep(pools, core::monotonicMs());
  for (const auto& e : events) {
    t->reportOutlierEvent(e, e.ejected ? "" : "time_up");
  }
  if (!events.empty()) {
    t->evaluateFailover("outlier-detection");  // an ejection may leave a group short
  }
  t->auditBreakerChanges();
  t->loop_->timers().schedule(t->outlier_sweep_, kOutlierSweepMs);
}

void ControlThread::returnEjectedBackend(const std::string& pool_name,
                                         const upstream::BackendState& backend) {
  const int index = snapshot_->poolIndex(pool_name);
  if (index < 0) {
    return;
  }
  const auto& pool = *snapshot_->pools[static_cast<size_t>(index)];
  for (uint32_t i = 0; i < pool.backends.size(); ++i) {
    upstream::OutlierEvent event;
    if (pool.backends[i].get() == &backend &&
        upstream::OutlierSweeper::returnToService(pool, i, core::monotonicMs(), &event)) {
      reportOutlierEvent(event, "health_check");
    }
  }
}

void ControlThread::reportOutlierEvent(const upstream::OutlierEvent& e, const char* why) {
  const std::string_view reason = upstream::ejectReasonName(e.reason);
  if (e.ejected) {
    nlohmann::json after = {{"pool", e.pool},   {"backend", e.backend},         {"ejected", true},
                            {"reason", reason}, {"ejection_ms", e.duration_ms}, {"times", e.times}};
    {
      // Written when it goes out of scope, and before the audit record logs its own line: one
      // thread builds one log line at a time.
      core::LogLine line(core::LogLevel::kWarn, "outlier.ejected");
      line.str("pool", e.pool)
          .str("backend", e.backend)
          .str("reason", reason)
          .unum("ejection_ms", e.duration_ms)
          .unum("times", e.times);
      if (e.success_rate >= 0) {
        line.real("success_rate", e.success_rate).real("threshold", e.threshold);
        after["success_rate"] = e.success_rate;
        after["threshold"] = e.threshold;
      }
    }
    audit_.record("backend.ejected", "outlier-detection",
                  {{"pool", e.pool}, {"backend", e.backend}, {"ejected", false}}, after);
    return;
  }
  core::LogLine(core::LogLevel::kInfo, "outlier.returned")
      .str("pool", e.pool)
      .str("backend", e.backend)
      .str("why", why)
      .unum("ejected_ms", e.duration_ms);
  audit_.record("backend.returned", "outlier-detection",
                {{"pool", e.pool}, {"backend", e.backend}, {"ejected", true}},
                {{"pool", e.pool}, {"backend", e.backend}, {"ejected", false}, {"why", why}});
}

}  // namespace ballast::server
