// src/config/sections.h — readers for the `listeners:` and `pools:` lists of one file.
#pragma once

#include "config/config_types.h"
#include "config/validate.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// Appends every listener entry that is a mapping to config (fields with errors keep their
// defaults, so cross checks still see the entry) and its positions to sources.
void readListeners(FileReader& file, const Field& field, Config& config, SourceMap& sources);

// Same for pools. Checks local to one pool (backends, health check) are done here.
void readPools(FileReader& file, const Field& field, Config& config, SourceMap& sources);

// Reads a `health_check:` mapping into hc (the proxy plane's pools and the kernel plane's
// virtual services share it).
void readHealthCheck(FileReader& file, const Field& field, HealthCheck& hc);

}  // namespace ballast::config
