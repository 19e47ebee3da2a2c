// src/kernel/driver.h — what the reconciler needs from a kernel data plane (nftables, IPVS).
// A driver reads the kernel into a KernelState, applies a Diff, and removes everything Ballast
// programmed. It runs on the control thread; calls are synchronous but short (one netlink
// exchange or one nftables transaction).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/kernel_types.h"
#include "core/result.h"
#include "kernel/diff.h"
#include "kernel/kernel_state.h"

namespace ballast::kernel {

class Driver {
 public:
  Driver() = default;
  virtual ~Driver() = default;
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  virtual std::string_view name() const = 0;  // "nftables", "ipvs"

  // Rewrites a desired state into the form read() reports, so that diff() compares like with
  // like: nftables turns weights into map slots; IPVS splits multi-port services and drops
  // names (it keeps none). Called once per reconcile on the desired state, before diff().
  virtual void normalize(KernelState& desired) const = 0;

  // Everything Ballast programmed, canonicalized. On failure, *error says why (the kernel's own
  // words where it gave any).
  virtual core::Result<KernelState> read(std::string* error) = 0;

  // Applies the change set, atomically where the kernel allows (nftables: one transaction).
  // `diff` was computed against the state the last read() returned.
  virtual core::Result<core::Ok> apply(const Diff& diff, std::string* error) = 0;

  // Removes everything Ballast programmed (`ballast disable`, standby with on_standby: remove).
  // Nothing to remove is success.
  virtual core::Result<core::Ok> removeAll(std::string* error) = 0;
};

using DriverPtr = std::unique_ptr<Driver>;

// The driver the config names; nullptr with *error when it cannot be used on this host.
DriverPtr makeDriver(config::KernelDriver driver, std::string* error);

// Implemented by src/kernel/ipvs_driver.cpp.
DriverPtr makeIpvsDriver(std::string* error);

}  // namespace ballast::kernel
