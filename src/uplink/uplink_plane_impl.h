// src/uplink/uplink_plane_impl.h — the uplink plane: watches links, addresses, routes and
// neighbours over netlink, probes each uplink, and keeps the per-uplink tables, the balancing
// multipath route, the policy rules and the nftables table in line with which uplinks are
// healthy. Runs on the control thread's loop; every method is for that thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "control/audit_log.h"
#include "control/plane.h"
#include "core/event_loop.h"
#include "uplink/netlink.h"
#include "uplink/plan.h"
#include "uplink/prober.h"
#include "uplink/uplink_health.h"

namespace ballast::uplink {

// What the plane knows of one configured uplink.
struct UplinkRuntime {
  UplinkRuntime(config::Uplink c, const config::UplinkPolicy& policy)
      : cfg(std::move(c)), health(policy) {}

  config::Uplink cfg;
  uint32_t table = 0;
  uint32_t mark = 0;
  UplinkHealth health;
  std::unique_ptr<UplinkProber> prober;
  // Observed from the last dump and events.
  int ifindex = 0;
  bool link_up = false;
  uint32_t gateway = 0;  // configured, else learned from main's default routes
  uint32_t source = 0;
  uint16_t neighbour_state = 0;
  bool neighbour_failed = false;
  // Counters that survive a reload (probers are rebuilt then).
  ProbeCounters probes_before;
  uint64_t state_changes = 0;
  uint64_t last_rtt_ms = 0;
  bool have_rtt = false;

  ProbeCounters probes() const;
};

class UplinkPlane final : public control::Plane, public core::WatchHandler {
 public:
  UplinkPlane(core::EventLoop& loop, control::AuditLog& audit, std::string actor);
  ~UplinkPlane() override;

  std::string_view name() const override { return "uplink"; }
  bool apply(const config::ConfigPtr& config, std::string* error) override;
  // Removes everything the plane added and restores the sysctls (what `uplinks remove` does).
  void stop() override;
  void writeMetrics(metrics::PrometheusWriter& out) const override;
  nlohmann::json status() const override;

  void onReady(core::Watcher& w) override;

 private:
  bool open(std::string* error);
  void rebuildRuntimes(const config::Config& cfg);
  // Re-reads the host, updates every uplink's signals and verdict, and programs the difference.
  void refresh();
  void onHealthChange(UplinkRuntime& u, bool was_up);
  void program(const HostView& view);
  void armHoldTimer();
  // Removes what the plane added and restores the sysctls; the plane may take over again.
  void releaseHost();
  void noteNeighbour(const NeighInfo& n);
  std::vector<ResolvedUplink> resolved() const;
  static void onDebounce(void* self);
  static void onHold(void* self);

  core::EventLoop& loop_;
  control::AuditLog& audit_;
  std::string actor_;
  config::ConfigPtr config_;
  std::unique_ptr<NetlinkSocket> request_;
  std::unique_ptr<NetlinkSocket> events_;
  core::Watcher watcher_;
  bool watching_ = false;  // the host was taken over (state file written, events watched)
  core::Timer debounce_timer_;
  core::Timer hold_timer_;
  std::vector<std::unique_ptr<UplinkRuntime>> uplinks_;
  std::vector<std::unique_ptr<UplinkProber>> retired_;
  std::string state_path_;
  std::string nft_applied_;
  Plan applied_;
  bool programmed_ = false;
  bool stopped_ = false;
  uint64_t program_errors_ = 0;
};

}  // namespace ballast::uplink
