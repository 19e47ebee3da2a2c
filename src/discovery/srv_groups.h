// src/discovery/srv_groups.h — SRV priorities as failover groups. RFC 2782 asks a client to use
// the targets of the lowest priority value and to fall back to the next only when they are
// unreachable; a pool discovered by SRV (`discovery: {dns_srv}`) does the same through the
// failover groups of the resilience work (upstream/failover.h): one group per priority, best
// first, each serving while at least one member is up, traffic returning by itself (failback
// auto) once a better group is up again.
#pragma once

#include "config/config_types.h"

namespace ballast::discovery {

// Rebuilds `pool`'s groups from its backends' srv_priority. A pool with one priority (or none
// found by SRV) gets no groups: every backend serves, as before. Pools without dns_srv are left
// alone (their groups, if any, are the file's; the config rejects groups beside discovery).
void groupBySrvPriority(config::Pool& pool);

}  // namespace ballast::discovery
