// src/balance/picker.h — the interface every balancing algorithm implements. No sockets here:
// a picker sees backends only as weights, an up/down flag and a load figure.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "balance/algorithm.h"

namespace ballast::balance {

// One backend as a picker sees it. The owner fills it from config and health.
struct Candidate {
  uint32_t weight = 1;
  bool healthy = true;
  bool drained = false;
  uint32_t active = 0;  // in-flight connections, for least_conn and power_of_two
  // Held back though healthy: a backup while a primary is up, or a member of a failover group
  // that is not the active one. The owner decides; pickers treat it as down.
  bool standby = false;

  bool isUp() const { return healthy && !drained && weight > 0 && !standby; }
};

class Picker {
 public:
  virtual ~Picker() = default;
  // Owning worker only. Called when the set, weights or up/down states changed; may allocate
  // (Maglev rebuilds its table here). Must be called once before the first pick().
  virtual void rebuild(std::span<const Candidate> backends) = 0;
  // Owning worker only; never allocates. `key` is the request hash (hash algorithms) and is
  // ignored by the others. nullopt when every backend is down.
  virtual std::optional<uint32_t> pick(std::span<const Candidate> backends, uint64_t key) = 0;
  // True when pick() reads Candidate::active, so the caller refreshes it before picking.
  virtual bool usesLoad() const { return false; }
};

using PickerPtr = std::unique_ptr<Picker>;

// `seed` feeds random and power_of_two; tests pass a fixed one.
PickerPtr makePicker(Algorithm algorithm, uint64_t seed);

}  // namespace ballast::balance
