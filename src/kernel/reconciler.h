// src/kernel/reconciler.h — one reconcile pass, shared by the plane's loop and `ballast apply`:
// observe → diff → apply → verify. Holds no timers; the caller decides when to run it.
#pragma once

#include <cstdint>
#include <string>

#include "kernel/diff.h"
#include "kernel/driver.h"
#include "kernel/kernel_state.h"

namespace ballast::kernel {

struct ReconcileResult {
  bool ok = false;         // read, apply and verify all ran
  bool converged = false;  // the kernel matched the desired state at the end
  Diff diff;               // what was (or, dry run, would be) applied
  KernelState observed;    // as read before applying
  std::string error;       // why not ok, in the kernel's words where it gave any
  std::string stage;       // "read", "apply", "verify"
  // Wall time of each stage, so a slow pass says where its time went (0 when not reached).
  double read_s = 0;
  double apply_s = 0;
  double verify_s = 0;
};

class Reconciler {
 public:
  explicit Reconciler(DriverPtr driver) : driver_(std::move(driver)) {}

  Driver& driver() { return *driver_; }
  // `desired` as desiredState() built it; normalized here for the driver. A dry run stops
  // after the diff (converged then says whether the kernel already matches). A partial pass
  // holds only some services in `desired` and compares only those: nothing else is removed.
  ReconcileResult reconcile(KernelState desired, bool dry_run, bool partial = false);

 private:
  DriverPtr driver_;
};

}  // namespace ballast::kernel
