// src/config/discovery_file.h — a pool's discovery file: a YAML (or JSON, a YAML subset) list of
// backends in the form `backends:` takes, written by something else (a deploy tool, a service
// registry's template, consul-template). Read at load like the rest of the config, and re-read
// by the control thread whenever the file changes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config_error.h"
#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// Replaces pool.backends with the file's list, reporting each problem at the file's
// line:column into `diagnostics`. False (backends untouched) when the file cannot be read or
// holds an error. An empty list is valid: a service scaled to zero.
bool readDiscoveryFile(Pool& pool, bool allow_exec, Diagnostics& diagnostics);

// The same read for a running pool: its backends as the file says now, or nullopt and the
// errors. `pool` is the pool as configured (its check and TLS shape each backend's check).
std::optional<std::vector<Backend>> discoverBackends(const Pool& pool, bool allow_exec,
                                                     std::vector<ConfigError>* errors);

}  // namespace ballast::config
