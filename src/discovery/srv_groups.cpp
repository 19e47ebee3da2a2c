// src/discovery/srv_groups.cpp — one failover group per SRV priority.
#include "discovery/srv_groups.h"

#include <set>
#include <string>

namespace ballast::discovery {

void groupBySrvPriority(config::Pool& pool) {
  if (pool.discovery.dns_srv.empty()) {
    return;
  }
  pool.groups.clear();
  std::set<int32_t> priorities;
  for (const auto& b : pool.backends) {
    if (b.srv_priority >= 0) {
      priorities.insert(b.srv_priority);
    }
  }
  if (priorities.size() < 2) {
    return;
  }
  for (const int32_t priority : priorities) {  // ascending: the best (lowest value) first
    config::FailoverGroup g;
    g.name = "srv-priority-" + std::to_string(priority);
    g.priority = static_cast<uint32_t>(priority);
    g.min_healthy = 1;
    for (size_t i = 0; i < pool.backends.size(); ++i) {
      if (pool.backends[i].srv_priority == priority) {
        g.backends.push_back(static_cast<uint32_t>(i));
      }
    }
    pool.groups.push_back(std::move(g));
  }
}

}  // namespace ballast::discovery
