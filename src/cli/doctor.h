// src/cli/doctor.h — `ballast doctor`: checks what breaks load balancers in production and
// prints each problem with its fix.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "control/doctor_finding.h"

namespace ballast::cli {

// Host-level checks for a config (fd limit, somaxconn, port range, io_uring, ports in use).
std::vector<control::DoctorFinding> proxyDoctorChecks(const config::Config* config,
                                                      bool daemon_running);

// Exit code: 0 nothing wrong (warnings allowed), 1 at least one error, 2 usage.
int runDoctor(const std::optional<std::string>& config_path, const std::string& socket, bool json);

}  // namespace ballast::cli
