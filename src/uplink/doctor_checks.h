// src/uplink/doctor_checks.h — `ballast doctor` checks for the uplink plane: interfaces exist,
// rp_filter would not drop replies on uplinks, forwarding is on for LAN interfaces, and the
// multipath hash policy spreads flows per port.
#pragma once

#include <vector>

#include "config/config_types.h"
#include "control/doctor_finding.h"

namespace ballast::uplink {

std::vector<control::DoctorFinding> uplinkDoctorChecks(const config::Config& config);

}  // namespace ballast::uplink
