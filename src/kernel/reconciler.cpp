// src/kernel/reconciler.cpp — observe, diff, apply, verify.
#include "kernel/reconciler.h"

#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace ballast::kernel {
namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Splits the observed services into those a partial pass is about (kept in `observed`) and the
// rest (returned).
std::vector<ServiceState> takeOthers(KernelState& observed, const KernelState& desired) {
  std::set<std::string> wanted;
  for (const auto& s : desired.services) {
    wanted.insert(s.identity());
  }
  std::vector<ServiceState> others;
  std::erase_if(observed.services, [&](ServiceState& s) {
    if (wanted.contains(s.identity())) {
      return false;
    }
    others.push_back(std::move(s));
    return true;
  });
  return others;
}

}  // namespace

ReconcileResult Reconciler::reconcile(KernelState desired, bool dry_run, bool partial) {
  ReconcileResult r;
  driver_->normalize(desired);
  r.stage = "read";
  auto start = std::chrono::steady_clock::now();
  auto observed = driver_->read(&r.error);
  r.read_s = secondsSince(start);
  if (!observed) {
    return r;
  }
  r.observed = std::move(*observed);
  std::vector<ServiceState> others;  // partial: what the pass must leave as it found it
  if (partial) {
    if (r.observed.empty_kernel || !r.observed.scaffold_intact) {
      // The table itself is damaged: repairing it with a few services would leave the rest
      // out until the next full pass. Not converged, so the caller runs a full one.
      r.ok = true;
      r.error = "the table is damaged: a full pass is needed";
      return r;
    }
    others = takeOthers(r.observed, desired);
  }
  r.diff = diff(desired, r.observed);
  if (dry_run || r.diff.empty()) {
    r.ok = true;
    r.converged = r.diff.empty();
    return r;
  }
  r.stage = "apply";
  start = std::chrono::steady_clock::now();
  const bool applied = driver_->apply(r.diff, &r.error).has_value();
  r.apply_s = secondsSince(start);
  if (!applied) {
    return r;
  }
  // Verify: what the kernel holds now, not what we meant to write.
  r.stage = "verify";
  start = std::chrono::steady_clock::now();
  auto after = driver_->read(&r.error);
  r.verify_s = secondsSince(start);
  if (!after) {
    return r;
  }
  if (partial && takeOthers(*after, desired) != others) {
    // Another service changed under the pass (a shared element, a hand edit): a full pass
    // compares everything.
    r.ok = true;
    r.error = "services outside a partial pass changed: a full pass is needed";
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
