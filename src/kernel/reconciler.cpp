// src/kernel/reconciler.cpp — observe, diff, apply, verify.
#include "kernel/reconciler.h"

#include <chrono>
#include <set>
#include <string>

namespace ballast::kernel {
namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Keeps the observed services a partial pass is about (both states sorted by identity).
void keepOnlyThose(KernelState& observed, const KernelState& desired) {
  std::set<std::string> wanted;
  for (const auto& s : desired.services) {
    wanted.insert(s.identity());
  }
  std::erase_if(observed.services,
                [&](const ServiceState& s) { return !wanted.contains(s.identity()); });
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
  if (partial) {
    keepOnlyThose(r.observed, desired);
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
  if (partial) {
    keepOnlyThose(*after, desired);
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
