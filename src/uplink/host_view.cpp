// src/uplink/host_view.cpp — lookups over one dump of the host's routing state.
#include <arpa/inet.h>

#include "uplink/routing_types.h"

namespace ballast::uplink {

const LinkInfo* HostView::link(const std::string& name) const {
  for (const auto& l : links) {
    if (l.name == name) {
      return &l;
    }
  }
  return nullptr;
}

uint32_t HostView::primaryAddress(int ifindex) const {
  for (const auto& a : addrs) {
    if (a.index == ifindex) {
      return a.addr;
    }
  }
  return 0;
}

uint32_t HostView::learnedGateway(int ifindex) const {
  constexpr uint32_t kMainTable = 254;
  for (const auto& r : routes) {
    if (r.table != kMainTable || r.dst_len != 0) {
      continue;
    }
    if (r.oif == ifindex && r.gateway != 0) {
      return r.gateway;
    }
    for (const auto& nh : r.nexthops) {
      if (nh.ifindex == ifindex && nh.gateway != 0) {
        return nh.gateway;
      }
    }
  }
  return 0;
}

const NeighInfo* HostView::neighbour(int ifindex, uint32_t addr) const {
  for (const auto& n : neighbours) {
    if (n.index == ifindex && n.addr == addr) {
      return &n;
    }
  }
  return nullptr;
}

std::string ipv4String(uint32_t addr) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &addr, buf, sizeof(buf));
  return buf;
}

nlohmann::json toJson(const RuleSpec& rule) {
  nlohmann::json j = {{"priority", rule.priority}, {"table", rule.table}};
  if (rule.src != 0) {
    j["from"] = ipv4String(rule.src);
  }
  if (!rule.iif.empty()) {
    j["iif"] = rule.iif;
  }
  if (!rule.oif.empty()) {
    j["oif"] = rule.oif;
  }
  if (rule.fwmask != 0) {
    j["fwmark"] = rule.fwmark;
    j["fwmask"] = rule.fwmask;
  }
  if (rule.suppress_default) {
    j["suppress_prefixlength"] = 0;
  }
  return j;
}

nlohmann::json toJson(const RouteSpec& route) {
  nlohmann::json hops = nlohmann::json::array();
  for (const auto& nh : route.nexthops) {
    hops.push_back(
        {{"ifindex", nh.ifindex}, {"via", ipv4String(nh.gateway)}, {"weight", nh.weight}});
  }
  return {{"table", route.table}, {"dst", "default"}, {"nexthops", hops}};
}

}  // namespace ballast::uplink
