// src/uplink/plan.cpp — routes, rules and the nftables table for a set of uplinks.
#include "uplink/plan.h"

#include <cstdio>
#include <set>

namespace ballast::uplink {
namespace {

constexpr uint32_t kMainTable = 254;
constexpr uint32_t kFirstReservedTable = 253;
constexpr uint32_t kLastReservedTable = 255;
// Rule priorities relative to rule_preference: main's specific routes first, then the rules
// that pin traffic to one uplink, then the balancing table.
constexpr uint32_t kPinOffset = 1;
constexpr uint32_t kBalanceOffset = 2;

std::string hex(uint32_t v) {
  char buf[sizeof("0x00000000")];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

}  // namespace

uint32_t uplinkTable(const config::UplinkPolicy& policy, const std::vector<config::Uplink>& uplinks,
                     size_t index) {
  const uint32_t explicit_table = uplinks[index].table;
  return explicit_table != 0 ? explicit_table : policy.table_base + static_cast<uint32_t>(index);
}

std::string checkTables(const config::UplinkPolicy& policy,
                        const std::vector<config::Uplink>& uplinks) {
  std::set<uint32_t> seen = {policy.lb_table};
  for (size_t i = 0; i < uplinks.size(); ++i) {
    const uint32_t t = uplinkTable(policy, uplinks, i);
    const std::string who = "uplink " + uplinks[i].interface + ": table " + std::to_string(t);
    if (t >= kFirstReservedTable && t <= kLastReservedTable) {
      return who + " is one of the kernel's default, main and local tables (253-255)";
    }
    if (t == policy.lb_table) {
      return who + " is the balancing table (uplink_policy.lb_table)";
    }
    if (!seen.insert(t).second) {
      return who + " is used twice (set `table:` or uplink_policy.table_base)";
    }
  }
  return {};
}

Plan buildPlan(const config::UplinkPolicy& policy, const std::vector<ResolvedUplink>& uplinks,
               const std::vector<std::string>& lan_interfaces) {
  Plan plan;
  const uint32_t pref = policy.rule_preference;
  plan.rules.push_back({.priority = pref, .table = kMainTable, .suppress_default = true});
  RouteSpec balance{.table = policy.lb_table};
  for (const auto& u : uplinks) {
    const bool routable = u.ifindex != 0 && u.gateway != 0 && u.link_up;
    if (routable) {
      plan.routes.push_back({.table = u.table, .nexthops = {{u.ifindex, u.gateway, 1}}});
      if (u.healthy) {
        balance.nexthops.push_back({u.ifindex, u.gateway, u.weight});
      }
    }
    // Pinning rules stay while the uplink is down: its own flows and replies must not wander
    // off through another uplink with the wrong source address.
    if (u.source != 0) {
      plan.rules.push_back({.priority = pref + kPinOffset, .table = u.table, .src = u.source});
    }
    plan.rules.push_back({.priority = pref + kPinOffset, .table = u.table, .oif = u.name});
    if (policy.affinity) {
      plan.rules.push_back(
          {.priority = pref + kPinOffset, .table = u.table, .fwmark = u.mark, .fwmask = kMarkMask});
    }
  }
  if (!balance.nexthops.empty()) {
    plan.routes.push_back(std::move(balance));
  }
  plan.rules.push_back({.priority = pref + kBalanceOffset, .table = policy.lb_table, .iif = "lo"});
  for (const auto& lan : lan_interfaces) {
    plan.rules.push_back({.priority = pref + kBalanceOffset, .table = policy.lb_table, .iif = lan});
  }
  return plan;
}

std::string buildNftScript(const config::UplinkPolicy& policy,
                           const std::vector<ResolvedUplink>& uplinks) {
  const std::string table = std::string(kNftFamily) + " " + kNftTable;
  // add+delete first: the table is replaced whole in one transaction, existing or not.
  std::string s = "add table " + table + "\ndelete table " + table + "\ntable " + table + " {\n";
  const std::string mask = hex(kMarkMask);
  if (policy.affinity) {
    // A packet of a known flow carries its uplink's mark into the routing decision, so the
    // fwmark rules send it where the flow started, whatever the multipath route says now.
    const std::string restore =
        "    ct mark and " + mask + " != 0 meta mark set ct mark and " + mask + "\n";
    s += "  chain restore_prerouting {\n    type filter hook prerouting priority mangle; policy "
         "accept;\n" +
         restore + "  }\n";
    s += "  chain restore_output {\n    type route hook output priority mangle; policy accept;\n" +
         restore + "  }\n";
    s += "  chain mark_postrouting {\n    type filter hook postrouting priority mangle; policy "
         "accept;\n";
    for (const auto& u : uplinks) {
      s += "    ct mark and " + mask + " == 0 oifname \"" + u.name + "\" ct mark set ct mark or " +
           hex(u.mark) + "\n";
    }
    s += "  }\n";
  }
  s += "  chain nat_postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
  for (const auto& u : uplinks) {
    s += "    meta nfproto ipv4 oifname \"" + u.name + "\" masquerade\n";
  }
  s += "  }\n}\n";
  return s;
}

}  // namespace ballast::uplink
