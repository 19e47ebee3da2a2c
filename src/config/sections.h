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

// Appends the backends of a `backends:` list (or a discovery file's root list) to pool.
// An empty list is an error unless allow_empty (a discovered service may have none for now).
void readBackends(FileReader& file, const Field& field, Pool& pool, bool allow_exec,
                  bool allow_empty);

// Makes the pool's HTTP checks (its own and its backends' overrides) speak the pool's TLS.
void checkOverTls(Pool& pool);

// The top-level `discovery:` mapping: resolvers and TTL bounds for DNS-named backends.
void readDiscoverySettings(FileReader& file, const Field& field, DiscoverySettings& out);

// Where a `health_check:` mapping sits decides what it may hold.
struct HealthCheckScope {
  bool allow_exec = false;   // the top level's allow_exec_checks
  bool per_backend = false;  // a backend's overrides: `address` is allowed
};

// Reads a `health_check:` mapping into hc, over what hc holds already (a backend's overrides
// start from its pool's check). Pools, backends and the kernel plane's virtual services share it.
// health_sections.cpp.
void readHealthCheck(FileReader& file, const Field& field, HealthCheck& hc,
                     const HealthCheckScope& scope);

// Reads a pool's `retries:` mapping (retry_sections.cpp).
void readRetries(FileReader& file, const Field& field, RetryPolicy& policy);
void readOutlierDetection(FileReader& file, const Field& field, OutlierDetection& out);

// Reads a pool's `circuit_breaker:` mapping (circuit_sections.cpp).
void readCircuitBreaker(FileReader& file, const Field& field, CircuitBreaker& breaker);

// Reads a pool's `groups:` list and `failback:` (null: default) over its backends, which must
// be read already (group_sections.cpp).
void readGroups(FileReader& file, const Field& field, const Field* failback, Pool& pool);

// `send`/`expect` text with \r \n \t \0 \\ \xHH decoded; nullopt and *error on a bad escape.
std::optional<std::string> decodeEscapes(std::string_view text, std::string& error);

}  // namespace ballast::config
