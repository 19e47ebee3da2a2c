// src/uplink/uplink_report.cpp — the uplink plane's metrics and its `status()` document.
#include <linux/neighbour.h>

#include <array>
#include <utility>

#include "uplink/uplink_plane_impl.h"

namespace ballast::uplink {
namespace {

constexpr double kMsPerSecond = 1000.0;

std::string neighbourName(uint16_t state) {
  constexpr std::array<std::pair<uint16_t, const char*>, 8> kNames = {{
      {NUD_INCOMPLETE, "incomplete"},
      {NUD_REACHABLE, "reachable"},
      {NUD_STALE, "stale"},
      {NUD_DELAY, "delay"},
      {NUD_PROBE, "probe"},
      {NUD_FAILED, "failed"},
      {NUD_NOARP, "noarp"},
      {NUD_PERMANENT, "permanent"},
  }};
  for (const auto& [bit, name] : kNames) {
    if ((state & bit) != 0) {
      return name;
    }
  }
  return "none";
}

std::string probeKind(config::UplinkProbeKind k) {
  switch (k) {
    case config::UplinkProbeKind::kTcp:
      return "tcp";
    case config::UplinkProbeKind::kGateway:
      return "gateway";
    default:
      return "none";
  }
}

}  // namespace

void UplinkPlane::writeMetrics(metrics::PrometheusWriter& out) const {
  out.family("ballast_uplink_up", "gauge", "1 when the uplink is in the balancing route.");
  for (const auto& u : uplinks_) {
    out.sampleInt("ballast_uplink_up", {{"uplink", u->cfg.interface}}, u->health.up() ? 1 : 0);
  }
  out.family("ballast_uplink_probe_rtt_seconds", "gauge",
             "Connect time of the uplink's last successful probe.");
  for (const auto& u : uplinks_) {
    if (u->have_rtt) {
      out.sample("ballast_uplink_probe_rtt_seconds", {{"uplink", u->cfg.interface}},
                 static_cast<double>(u->last_rtt_ms) / kMsPerSecond);
    }
  }
  out.family("ballast_uplink_state_changes_total", "counter", "Times the uplink went up or down.");
  for (const auto& u : uplinks_) {
    out.sampleInt("ballast_uplink_state_changes_total", {{"uplink", u->cfg.interface}},
                  u->state_changes);
  }
  out.family("ballast_uplink_active", "gauge", "Uplinks in the balancing route.");
  uint64_t active = 0;
  for (const auto& u : uplinks_) {
    active += u->health.up() ? 1 : 0;
  }
  out.sampleInt("ballast_uplink_active", {}, active);
  out.family("ballast_uplink_probes_total", "counter", "Probe connects by result.");
  for (const auto& u : uplinks_) {
    const ProbeCounters c = u->probes();
    const std::string_view name = u->cfg.interface;
    out.sampleInt("ballast_uplink_probes_total", {{"uplink", name}, {"result", "ok"}}, c.ok);
    out.sampleInt("ballast_uplink_probes_total", {{"uplink", name}, {"result", "failed"}},
                  c.failed);
    out.sampleInt("ballast_uplink_probes_total", {{"uplink", name}, {"result", "timeout"}},
                  c.timeout);
  }
}

nlohmann::json UplinkPlane::status() const {
  const uint64_t now = loop_.nowMs();
  nlohmann::json list = nlohmann::json::array();
  uint64_t active = 0;
  for (const auto& u : uplinks_) {
    active += u->health.up() ? 1 : 0;
    const ProbeCounters c = u->probes();
    nlohmann::json probe = {{"kind", probeKind(u->cfg.probe.kind)},
                            {"ok", c.ok},
                            {"failed", c.failed},
                            {"timeout", c.timeout},
                            {"passing", u->health.probeOk()}};
    if (u->have_rtt) {
      probe["rtt_ms"] = u->last_rtt_ms;
    }
    nlohmann::json targets = nlohmann::json::array();
    for (const auto& t : u->cfg.probe.targets) {
      targets.push_back(t.toString());
    }
    probe["targets"] = targets;
    list.push_back({
        {"interface", u->cfg.interface},
        {"up", u->health.up()},
        {"reason", u->health.reason(now)},
        {"weight", u->cfg.weight},
        {"table", u->table},
        {"mark", u->mark},
        {"ifindex", u->ifindex},
        {"link_up", u->link_up},
        {"gateway", u->gateway != 0 ? ipv4String(u->gateway) : ""},
        {"gateway_learned", !u->cfg.gateway.has_value()},
        {"source", u->source != 0 ? ipv4String(u->source) : ""},
        {"neighbour", neighbourName(u->neighbour_state)},
        {"neighbour_failed", u->neighbour_failed},
        {"downs", u->health.downs()},
        {"held_ms", u->health.heldUntil() > now ? u->health.heldUntil() - now : 0},
        {"state_changes", u->state_changes},
        {"probe", probe},
    });
  }
  nlohmann::json routes = nlohmann::json::array();
  for (const auto& r : applied_.routes) {
    routes.push_back(toJson(r));
  }
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& r : applied_.rules) {
    rules.push_back(toJson(r));
  }
  nlohmann::json doc = {{"uplinks", list},
                        {"active", active},
                        {"routes", routes},
                        {"rules", rules},
                        {"program_errors", program_errors_},
                        {"state_file", state_path_}};
  if (config_) {
    doc["lb_table"] = config_->uplink_policy.lb_table;
    doc["lan_interfaces"] = config_->lan_interfaces;
  }
  return doc;
}

}  // namespace ballast::uplink
