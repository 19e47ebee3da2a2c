// src/config/forward_auth_sections.h — the `forward_auth:` key of an http listener or a route:
// which auth service a subrequest goes to, what it carries there and back, and how long its
// answer is remembered.
#pragma once

#include "config/config_types.h"
#include "config/validate.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// Reads `forward_auth: {pool | address, path, copy_request_headers, copy_response_headers,
// cache_ttl, timeout}` (or `forward_auth: off` on a route: no subrequest there) into `auth`.
// Returns where the auth service was named (the `pool:` or `address:` value), for the check that
// the pool exists once every file is read; line 0 when it was not.
Location readForwardAuth(FileReader& file, const Field& field, ForwardAuth& auth);

// After every file is read, before validation: each forward_auth given by `address` gets a pool
// of its own, appended to config.pools (and sources.pools), and every forward_auth's pool_index
// is resolved (-1 when its pool is unknown: validation reports it at the place `sources` keeps).
void resolveForwardAuthPools(Config& config, SourceMap& sources);

}  // namespace ballast::config
