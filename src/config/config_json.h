// src/config/config_json.h — the effective configuration as JSON (GET /api/v1/config,
// `ballast show config`): defaults filled in, includes merged, env expanded. Secrets never
// appear: they live in files, and only the files' paths are part of the config.
#pragma once

#include <nlohmann/json.hpp>

#include "config/config_types.h"

namespace ballast::config {

// The YAML spelling of a check type ("tcp", "send_expect", "none").
std::string_view healthCheckTypeName(HealthCheckType t);

nlohmann::json toJson(const Config& config);

// The name `protocol:` takes for p.
std::string_view protocolName(Protocol p);

}  // namespace ballast::config
