// src/kernel/kernel_plane.h — the kernel plane's entry point for `ballast run`: a reconcile loop
// on the control thread that keeps nftables (or IPVS) true to the config's virtual services.
#pragma once

#include <memory>

#include "control/plane.h"

namespace ballast::kernel {

std::unique_ptr<control::Plane> makeKernelPlane(const control::PlaneContext& ctx);

}  // namespace ballast::kernel
