// src/config/sni_sections.h — readers for what only a tls_passthrough listener has: the `sni:`
// list that routes a connection by the server name in its ClientHello, and the ClientHello
// timeout.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// Keys of `timeouts:` that only a tls_passthrough listener accepts.
inline constexpr std::array<std::string_view, 1> kTlsOnlyTimeoutKeys = {"client_hello"};

// Reads `sni:` — a list of {names: [NAME, ...], pool: POOL}. Names are checked, lowercased and
// must be unique within the listener; pools are checked later by validateConfig, so their
// positions go to pool_sources (parallel to routes). Returns the number of list items, so the
// caller can tell an empty list.
size_t readSni(FileReader& file, const Field& field, std::vector<SniRoute>& routes,
               std::vector<Location>& pool_sources);

// The tls_passthrough keys of a `timeouts:` mapping (already walked by the caller).
void readTlsTimeouts(FileReader& file, const MapReader& map, ListenerTimeouts& timeouts);

// A server name pattern as the router stores it: lowercase, "*." only as a whole leftmost
// label. nullopt when `text` is not one (exposed for the tests).
std::optional<std::string> normalizeServerName(std::string_view text);

}  // namespace ballast::config
