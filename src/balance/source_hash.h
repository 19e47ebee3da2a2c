// src/balance/source_hash.h — source hash: a key (the client address hash) always maps to the
// same backend while the backend set and weights stay the same.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "balance/picker.h"
#include "balance/random.h"

namespace ballast::balance {

// Map-based hashing in the line of NGINX's ip_hash and HAProxy's "hash-type map-based": the
// hashed key is a point on a prefix-sum table of weights (O(log n), no allocation), so keys
// spread by weight.
//
// The table holds every backend with weight > 0, up or not. When the key lands on a backend
// that is down or drained, the key is rehashed with the next seed, up to kMaxHashAttempts times
// (NGINX's ip_hash gives up after 20 as well). So a health flap or a drain moves only the keys
// of that backend, and they come back when it does, instead of reshuffling every client.
// After the attempts run out (most of the set is down) the key falls back to a table of the up
// backends: still deterministic and weighted, but not sticky across health changes.
//
// A weight change or a different backend set moves intervals and so remaps many keys. That is
// the price of O(log n) picks; consistent_hash (Maglev) is the choice when such changes must
// move as few keys as possible. Rendezvous hashing would also do that, but costs a hash and a
// logarithm per backend per pick, which is what Maglev's table avoids.
class SourceHashPicker final : public Picker {
 public:
  static constexpr uint32_t kMaxHashAttempts = 20;

  void rebuild(std::span<const Candidate> backends) override;
  std::optional<uint32_t> pick(std::span<const Candidate> backends, uint64_t key) override;

 private:
  WeightedTable weighted_;  // weight > 0, up or not: where a key belongs
  WeightedTable up_;        // up only: where a key goes when most of the set is down
};

}  // namespace ballast::balance
