// src/config/validate.h — checks that span entries or files (unique names, pool references of
// listeners and routes, bind conflicts, HTTP-only pool settings), run once every included file
// is merged.
#pragma once

#include <vector>

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// Where each listener's and pool's fields came from, parallel to Config::listeners and
// Config::pools; a zero line means the field was absent or invalid.
struct RouteSource {
  Location pool;
  Location forward_auth;  // where its forward_auth names the auth service
};

struct ListenerSource {
  Location name;
  Location bind;
  Location pool;
  Location forward_auth;            // where its forward_auth names the auth service
  std::vector<RouteSource> routes;  // parallel to Listener::http.routes
  std::vector<Location> sni_pools;  // parallel to Listener::sni: each entry's `pool:` value
  // False when `protocol:` could not be read: the listener's protocol is then a guess, and
  // checks that depend on it stay quiet rather than add to the error already reported.
  bool protocol_known = true;
};

struct PoolSource {
  Location name;
  Location hash_key;  // the value
  Location sticky;    // the key: the whole setting is what does not fit a tcp or udp listener
  Location tls;       // the key, likewise: TLS to backends is the HTTP proxy's
  Location retries;   // the key, likewise: retries resend HTTP requests
};

struct SourceMap {
  std::vector<ListenerSource> listeners;
  std::vector<PoolSource> pools;
};

// complete is false when some file could not be read or parsed: its pools are then
// unknown, so references to missing pools are not reported a second time.
void validateConfig(const Config& config, const SourceMap& sources, bool complete,
                    Diagnostics& diagnostics);

}  // namespace ballast::config
