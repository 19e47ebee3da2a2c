// src/config/kernel_sections.cpp — `kernel:` and `virtual_services:` (issue #8; placeholder
// that accepts the keys until the kernel plane lands).
#include "config/plane_sections.h"

namespace ballast::config {

void readKernelSections(FileReader& /*file*/, const MapReader& /*top*/, Config& /*config*/) {}

}  // namespace ballast::config
