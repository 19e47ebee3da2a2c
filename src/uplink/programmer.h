// src/uplink/programmer.h — makes the kernel's routes and rules match a Plan, touching only
// objects stamped with kRtProtBallast, and takes every one of them away again.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "uplink/netlink.h"
#include "uplink/plan.h"

namespace ballast::uplink {

// Adds, replaces and deletes what differs between `view` (a fresh dump) and `plan`. Returns the
// number of changes, or -1 with *error set (the rest of the plan is still tried).
int programPlan(NetlinkSocket& sock, const Plan& plan, const HostView& view, std::string* error);

// True when `view` already holds exactly `plan` (drift check after events).
bool planInPlace(const Plan& plan, const HostView& view);

// A table the plane would write that already holds routes it did not add: taking it over would
// make `remove` lose them. Empty when all are free.
std::string foreignRoutes(const HostView& view, const std::vector<uint32_t>& tables);

// Deletes every rule and route stamped kRtProtBallast. Returns what was deleted (for the audit
// and the CLI), error text in *error when some delete failed.
nlohmann::json removeOwned(NetlinkSocket& sock, std::string* error);

}  // namespace ballast::uplink
