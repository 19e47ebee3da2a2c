// src/upstream/failover.cpp — the failover group choice: best eligible, sticky under manual
// failback.
#include "upstream/failover.h"

namespace ballast::upstream {

int32_t chooseGroup(std::span<const GroupHealth> groups, int32_t current, config::Failback mode,
                    bool failback_now) {
  const auto n = static_cast<int32_t>(groups.size());
  int32_t best = GroupState::kNoGroup;
  for (int32_t i = 0; i < n; ++i) {
    if (groups[static_cast<size_t>(i)].eligible()) {
      best = i;
      break;
    }
  }
  const bool current_valid = current >= 0 && current < n;
  if (best == GroupState::kNoGroup) {
    for (int32_t i = 0; i < n; ++i) {
      if (groups[static_cast<size_t>(i)].up > 0) {
        return i;
      }
    }
    return current_valid ? current : (n > 0 ? 0 : GroupState::kNoGroup);
  }
  if (mode == config::Failback::kManual && !failback_now && current_valid &&
      groups[static_cast<size_t>(current)].eligible()) {
    return current;  // stays on a worse group until an admin says to go back
  }
  return best;
}

}  // namespace ballast::upstream
