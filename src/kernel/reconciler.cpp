// src/kernel/reconciler.cpp — observe, diff, apply, verify.
#include "kernel/reconciler.h"

namespace ballast::kernel {

ReconcileResult Reconciler::reconcile(KernelState desired, bool dry_run) {
  ReconcileResult r;
  driver_->normalize(desired);
  r.stage = "read";
  auto observed = driver_->read(&r.error);
  if (!observed) {
    return r;
  }
  r.observed = std::move(*observed);
  r.diff = diff(desired, r.observed);
  if (dry_run || r.diff.empty()) {
    r.ok = true;
    r.converged = r.diff.empty();
    return r;
  }
  r.stage = "apply";
  if (!driver_->apply(r.diff, &r.error)) {
    return r;
  }
  // Verify: what the kernel holds now, not what we meant to write.
  r.stage = "verify";
  auto after = driver_->read(&r.error);
  if (!after) {
    return r;
  }
  const Diff left = diff(desired, *after);
  r.ok = true;
  r.converged = left.empty();
  if (!r.converged) {
    r.error = "the kernel still differs after apply (" + std::to_string(left.changes.size()) +
              " services)";
  }
  return r;
}

}  // namespace ballast::kernel
