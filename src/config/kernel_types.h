// src/config/kernel_types.h — settings of the kernel plane: L4 virtual services programmed
// into nftables or IPVS. Filled in by the kernel-plane work (issue #8).
#pragma once

#include <string>
#include <vector>

namespace ballast::config {

struct KernelSettings {
  bool present = false;  // a `kernel:` section was given
};

struct VirtualService {
  std::string name;
};

}  // namespace ballast::config
