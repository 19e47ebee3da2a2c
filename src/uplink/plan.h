// src/uplink/plan.h — the routes, rules and nftables ruleset the plane wants, computed from the
// config and what is known of each uplink. Pure: no sockets, so tests check it directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/uplink_types.h"
#include "uplink/routing_types.h"

namespace ballast::uplink {

// Connection marks live in these bits (ct mark and fwmark); uplink i gets (i + 1) << 16, so the
// rest of the mark stays free for other tools' use of ct mark.
constexpr uint32_t kMarkMask = 0x00ff0000U;
constexpr uint32_t kMarkShift = 16;
inline uint32_t uplinkMark(size_t index) { return static_cast<uint32_t>(index + 1) << kMarkShift; }
constexpr const char* kNftFamily = "inet";
constexpr const char* kNftTable = "ballast_uplinks";

struct ResolvedUplink {
  std::string name;
  int ifindex = 0;     // 0: the interface does not exist (now)
  uint32_t table = 0;  // after the config's default was applied
  uint32_t mark = 0;
  uint32_t weight = 1;
  uint32_t gateway = 0;  // 0: not known yet
  uint32_t source = 0;   // the interface's primary IPv4 address; 0: none
  bool link_up = false;
  bool healthy = false;  // in the balancing route
};

struct Plan {
  std::vector<RouteSpec> routes;
  std::vector<RuleSpec> rules;
  bool operator==(const Plan&) const = default;
};

// Table of uplink `index`: its own, or table_base + index. Error text when the result collides
// with a reserved table, the balancing table or another uplink's table.
uint32_t uplinkTable(const config::UplinkPolicy& policy, const std::vector<config::Uplink>& uplinks,
                     size_t index);
std::string checkTables(const config::UplinkPolicy& policy,
                        const std::vector<config::Uplink>& uplinks);

Plan buildPlan(const config::UplinkPolicy& policy, const std::vector<ResolvedUplink>& uplinks,
               const std::vector<std::string>& lan_interfaces);

// The whole `table inet ballast_uplinks`, as one nft script that replaces any previous one in a
// single transaction.
std::string buildNftScript(const config::UplinkPolicy& policy,
                           const std::vector<ResolvedUplink>& uplinks);

}  // namespace ballast::uplink
