// src/kernel/kernel_plane.h — the kernel plane's entry point for `ballast run`.
#pragma once

#include <memory>

#include "server/plane.h"

namespace ballast::kernel {

std::unique_ptr<server::Plane> makeKernelPlane(const server::PlaneContext& ctx);

}  // namespace ballast::kernel
