// src/server/control_failover.cpp — the control thread's side of failover groups: choose each
// pool's serving group after anything that moves health (checks, admin calls, reloads), publish
// it to the workers, and log, audit and count every switch.
#include <string>
#include <string_view>
#include <vector>

#include "core/log.h"
#include "server/control_thread.h"
#include "upstream/failover.h"
#include "upstream/outlier.h"

namespace ballast::server {

namespace {

std::string groupName(const config::Pool& pool, int32_t index) {
  return index >= 0 && static_cast<size_t>(index) < pool.groups.size()
             ? pool.groups[static_cast<size_t>(index)].name
             : std::string();
}

}  // namespace

bool ControlThread::evaluateFailover(const std::string& actor, std::string_view failback_pool) {
  bool changed = false;
  std::vector<upstream::GroupHealth> health;
  for (const auto& p : snapshot_->pools) {
    if (!p->groups) {
      continue;
    }
    const config::Pool& pool = *p->config;
    health.clear();
    for (const auto& g : pool.groups) {
      upstream::GroupHealth h{.up = 0, .min_healthy = g.min_healthy};
      for (const uint32_t i : g.backends) {
        const auto& state = *p->backends[i];
        // An ejected backend (outlier detection) is out like a failed one.
        if (state.healthy.load(std::memory_order_relaxed) &&
            !state.drained.load(std::memory_order_relaxed) && !upstream::isEjected(state)) {
          ++h.up;
        }
      }
      health.push_back(h);
    }
    const int32_t from = p->groups->active.load(std::memory_order_relaxed);
    const int32_t to =
        upstream::chooseGroup(health, from, pool.failback, pool.name == failback_pool);
    if (to == from) {
      continue;
    }
    changed = true;
    p->groups->active.store(to, std::memory_order_release);
    p->generation->fetch_add(1, std::memory_order_release);  // workers re-read `active`
    if (from == upstream::GroupState::kNoGroup) {
      continue;  // the first choice (start-up, a pool new in a reload) is no switch
    }
    p->groups->failovers.fetch_add(1, std::memory_order_relaxed);
    const std::string from_name = groupName(pool, from);
    const std::string to_name = groupName(pool, to);
    core::LogLine(to > from ? core::LogLevel::kWarn : core::LogLevel::kInfo, "pool.failover")
        .str("pool", pool.name)
        .str("from", from_name)
        .str("to", to_name)
        .str("actor", actor);
    audit_.record("pool.failover", actor, {{"pool", pool.name}, {"group", from_name}},
                  {{"pool", pool.name}, {"group", to_name}});
  }
  return changed;
}

control::AdminResponse ControlThread::poolFailback(const std::string& pool,
                                                   const std::string& actor) {
  const upstream::PoolRuntime* runtime = nullptr;
  for (const auto& p : snapshot_->pools) {
    if (p->config->name == pool) {
      runtime = p.get();
    }
  }
  if (runtime == nullptr) {
    return control::AdminResponse::error(404, "not_found", "no pool named " + pool);
  }
  if (!runtime->groups) {
    return control::AdminResponse::error(409, "conflict", "pool " + pool + " has no groups");
  }
  const std::string before = groupName(*runtime->config, runtime->groups->active.load());
  const bool changed = evaluateFailover(actor, pool);
  const std::string after = groupName(*runtime->config, runtime->groups->active.load());
  return control::AdminResponse::json(
      200, {{"pool", pool}, {"changed", changed}, {"from", before}, {"active_group", after}});
}

void ControlThread::writeFailoverMetrics(metrics::PrometheusWriter& out) const {
  out.family("ballast_pool_failovers_total", "counter",
             "Switches of the serving failover group of the pool.");
  for (const auto& p : snapshot_->pools) {
    if (p->groups) {
      out.sampleInt("ballast_pool_failovers_total", {{"pool", p->config->name}},
                    p->groups->failovers.load(std::memory_order_relaxed));
    }
  }
  out.family("ballast_pool_active_group", "gauge",
             "1 for the failover group of the pool that serves, 0 for the others.");
  for (const auto& p : snapshot_->pools) {
    if (!p->groups) {
      continue;
    }
    const int32_t active = p->groups->active.load(std::memory_order_relaxed);
    for (size_t g = 0; g < p->config->groups.size(); ++g) {
      out.sampleInt("ballast_pool_active_group",
                    {{"pool", p->config->name}, {"group", p->config->groups[g].name}},
                    static_cast<int32_t>(g) == active ? 1 : 0);
    }
  }
}

}  // namespace ballast::server
