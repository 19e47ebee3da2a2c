// src/uplink/programmer.cpp — diff and apply of owned routes and rules.
#include "uplink/programmer.h"

#include <algorithm>
#include <cstring>

#include "uplink/rtnl.h"

namespace ballast::uplink {
namespace {

std::vector<Nexthop> hopsOf(const KernelRoute& r) {
  if (!r.nexthops.empty()) {
    return r.nexthops;
  }
  return {{r.oif, r.gateway, 1}};
}

bool sameHops(std::vector<Nexthop> a, std::vector<Nexthop> b) {
  const auto key = [](const Nexthop& x, const Nexthop& y) { return x.ifindex < y.ifindex; };
  std::sort(a.begin(), a.end(), key);
  std::sort(b.begin(), b.end(), key);
  return a == b;
}

const KernelRoute* ownedDefault(const HostView& view, uint32_t table) {
  for (const auto& r : view.routes) {
    if (r.protocol == kRtProtBallast && r.dst_len == 0 && r.table == table) {
      return &r;
    }
  }
  return nullptr;
}

std::string errnoText(int rc) { return std::strerror(-rc); }  // NOLINT(concurrency-mt-unsafe)

void noteError(std::string* error, const std::string& what) {
  if (!error->empty()) {
    *error += "; ";
  }
  *error += what;
}

}  // namespace

int programPlan(NetlinkSocket& sock, const Plan& plan, const HostView& view, std::string* error) {
  int changes = 0;
  error->clear();
  // Rules first out, routes next, rules last in: a rule never points at a table mid-change for
  // longer than the two messages between.
  for (const auto& kr : view.rules) {
    if (kr.protocol != kRtProtBallast) {
      continue;
    }
    if (std::find(plan.rules.begin(), plan.rules.end(), kr.spec) == plan.rules.end()) {
      const int rc = deleteRule(sock, kr);
      if (rc != 0 && rc != -ENOENT) {
        noteError(error, "delete rule: " + errnoText(rc));
      }
      ++changes;
    }
  }
  for (const auto& route : plan.routes) {
    const KernelRoute* have = ownedDefault(view, route.table);
    if (have != nullptr && sameHops(hopsOf(*have), route.nexthops)) {
      continue;
    }
    const int rc = replaceDefaultRoute(sock, route);
    if (rc != 0) {
      noteError(error, "route in table " + std::to_string(route.table) + ": " + errnoText(rc));
    }
    ++changes;
  }
  for (const auto& kr : view.routes) {
    if (kr.protocol != kRtProtBallast) {
      continue;
    }
    const bool wanted =
        kr.dst_len == 0 && std::any_of(plan.routes.begin(), plan.routes.end(),
                                       [&](const RouteSpec& r) { return r.table == kr.table; });
    if (!wanted) {
      const int rc = deleteRoute(sock, kr);
      if (rc != 0 && rc != -ESRCH && rc != -ENOENT) {
        noteError(error,
                  "delete route in table " + std::to_string(kr.table) + ": " + errnoText(rc));
      }
      ++changes;
    }
  }
  for (const auto& rule : plan.rules) {
    const bool have = std::any_of(view.rules.begin(), view.rules.end(), [&](const KernelRule& kr) {
      return kr.protocol == kRtProtBallast && kr.spec == rule;
    });
    if (!have) {
      const int rc = addRule(sock, rule);
      if (rc != 0 && rc != -EEXIST) {
        noteError(error, "add rule " + toJson(rule).dump() + ": " + errnoText(rc));
      }
      ++changes;
    }
  }
  return error->empty() ? changes : -1;
}

bool planInPlace(const Plan& plan, const HostView& view) {
  size_t owned_rules = 0;
  for (const auto& kr : view.rules) {
    if (kr.protocol != kRtProtBallast) {
      continue;
    }
    ++owned_rules;
    if (std::find(plan.rules.begin(), plan.rules.end(), kr.spec) == plan.rules.end()) {
      return false;
    }
  }
  if (owned_rules != plan.rules.size()) {
    return false;
  }
  size_t owned_routes = 0;
  for (const auto& kr : view.routes) {
    owned_routes += kr.protocol == kRtProtBallast ? 1 : 0;
  }
  if (owned_routes != plan.routes.size()) {
    return false;
  }
  return std::all_of(plan.routes.begin(), plan.routes.end(), [&](const RouteSpec& r) {
    const KernelRoute* have = ownedDefault(view, r.table);
    return have != nullptr && sameHops(hopsOf(*have), r.nexthops);
  });
}

std::string foreignRoutes(const HostView& view, const std::vector<uint32_t>& tables) {
  for (const auto& r : view.routes) {
    if (r.protocol == kRtProtBallast) {
      continue;
    }
    if (std::find(tables.begin(), tables.end(), r.table) != tables.end()) {
      return "routing table " + std::to_string(r.table) +
             " already holds routes that ballast did not add; choose another table "
             "(uplinks[].table, uplink_policy.table_base or lb_table)";
    }
  }
  return {};
}

nlohmann::json removeOwned(NetlinkSocket& sock, std::string* error) {
  nlohmann::json removed = {{"rules", nlohmann::json::array()},
                            {"routes", nlohmann::json::array()}};
  HostView view;
  const int rc = readHostView(sock, &view);
  if (rc != 0) {
    noteError(error, "reading routes and rules: " + errnoText(rc));
    return removed;
  }
  for (const auto& kr : view.rules) {
    if (kr.protocol == kRtProtBallast) {
      const int del = deleteRule(sock, kr);
      if (del != 0 && del != -ENOENT) {
        noteError(error, "delete rule: " + errnoText(del));
      }
      removed["rules"].push_back(toJson(kr.spec));
    }
  }
  for (const auto& kr : view.routes) {
    if (kr.protocol == kRtProtBallast) {
      const int del = deleteRoute(sock, kr);
      if (del != 0 && del != -ESRCH && del != -ENOENT) {
        noteError(error,
                  "delete route in table " + std::to_string(kr.table) + ": " + errnoText(del));
      }
      removed["routes"].push_back(toJson(RouteSpec{kr.table, hopsOf(kr)}));
    }
  }
  return removed;
}

}  // namespace ballast::uplink
