// src/kernel/kernel_plane.cpp — placeholder until the kernel plane (issue #8) lands.
#include "kernel/kernel_plane.h"

namespace ballast::kernel {

std::unique_ptr<server::Plane> makeKernelPlane(const server::PlaneContext& /*ctx*/) {
  return nullptr;
}

}  // namespace ballast::kernel
