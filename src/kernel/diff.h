// src/kernel/diff.h — the minimal change set between a desired and an observed KernelState:
// services to add, remove or update, and for an update which backends were added, removed or
// reweighted. Pure: no kernel access, so it is tested on its own.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernel/kernel_state.h"

namespace ballast::kernel {

struct ServiceChange {
  enum class Kind : uint8_t { kAdd, kRemove, kUpdate };
  Kind kind = Kind::kAdd;
  ServiceState desired;   // kAdd, kUpdate
  ServiceState observed;  // kRemove, kUpdate
  // kUpdate: true when more than the backends changed (ports, scheduler, forwarding, snat,
  // persistence, VIP, or the observed objects were damaged); drivers then rewrite the service.
  bool attributes_changed = false;
  std::vector<Destination> added;       // kUpdate
  std::vector<Destination> removed;     // kUpdate
  std::vector<Destination> reweighted;  // kUpdate: with the desired weight

  // The service as it will be (kAdd, kUpdate) or as it was (kRemove).
  const ServiceState& service() const { return kind == Kind::kRemove ? observed : desired; }
};

struct Diff {
  bool repair_scaffold = false;  // the driver must (re)build its base objects first
  std::vector<ServiceChange> changes;

  bool empty() const { return !repair_scaffold && changes.empty(); }
  size_t count(ServiceChange::Kind kind) const;
  // One line per change ("+ service web 198.18.0.10:80/tcp wrr nat backends 3"), for the CLI.
  std::vector<std::string> describe() const;
  nlohmann::json toJson() const;
};

// Both states must be canonical (KernelState::canonicalize). Services match by identity().
Diff diff(const KernelState& desired, const KernelState& observed);

}  // namespace ballast::kernel
