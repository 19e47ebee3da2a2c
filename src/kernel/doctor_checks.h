// src/kernel/doctor_checks.h — `ballast doctor`'s checks for the kernel plane: forwarding and ARP
// sysctls, conntrack headroom, and whether the configured driver can work on this host.
#pragma once

#include <vector>

#include "config/config_types.h"
#include "control/doctor_finding.h"

namespace ballast::kernel {

// Empty when the config has no virtual services and no `kernel:` section.
std::vector<control::DoctorFinding> kernelDoctorChecks(const config::Config& config);

}  // namespace ballast::kernel
