// src/upstream/failover.h — which failover group of a pool serves. The control thread decides
// (health changes, admin calls, reloads) and publishes the choice; workers only read it.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "config/config_types.h"

namespace ballast::upstream {

// Shared by the control thread (writer) and workers (readers); outlives reloads by pool name,
// so a manual failover stays in force across a reload.
struct GroupState {
  std::atomic<int32_t> active{kNoGroup};  // index into Pool::groups (priority order)
  std::atomic<uint64_t> failovers{0};     // switches of the active group
  static constexpr int32_t kNoGroup = -1;
};

// One group's health as the chooser needs it.
struct GroupHealth {
  uint32_t up = 0;  // healthy, not drained members
  uint32_t min_healthy = 1;
  bool eligible() const { return up >= min_healthy; }
};

// The group that should serve. `groups` is in priority order (best first), `current` the
// serving one (kNoGroup at start). Rules:
// - the best eligible group (at least min_healthy up) serves;
// - with manual failback, a serving group that is still eligible keeps serving even when a
//   better one is eligible again, until `failback_now` (the admin call);
// - when no group is eligible, the best group with any backend up serves (a degraded group
//   beats none); when none has any, the current one stays (nothing serves either way).
int32_t chooseGroup(std::span<const GroupHealth> groups, int32_t current, config::Failback mode,
                    bool failback_now);

}  // namespace ballast::upstream
