// src/control/doctor_finding.h — one result of `ballast doctor`: what was checked, whether it
// is fine, and if not, what breaks and how to fix it. Each plane contributes its own checks.
#pragma once

#include <cstdint>
#include <string>

namespace ballast::control {

enum class Severity : uint8_t { kOk, kWarn, kError };

struct DoctorFinding {
  std::string check;  // "fd_limit", "net.ipv4.ip_forward", …
  Severity severity = Severity::kOk;
  std::string detail;  // what was found ("soft 1024, hard 20000")
  std::string fix;     // how to fix it; empty when ok
};

}  // namespace ballast::control
