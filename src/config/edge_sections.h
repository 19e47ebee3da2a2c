// src/config/edge_sections.h — the edge keys of an http listener and of its routes:
// redirect_https, hsts and security_headers.
#pragma once

#include <array>
#include <string_view>

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

inline constexpr std::array<std::string_view, 3> kEdgeKeys = {"redirect_https", "hsts",
                                                              "security_headers"};

// Reads whichever edge keys `map` has into `edge`.
void readEdgePolicy(FileReader& file, const MapReader& map, EdgePolicy& edge);

// Reports hsts on a cleartext listener (RFC 6797 §7.2: never sent over plain HTTP).
void checkEdgePolicy(FileReader& file, const MapReader& map, const Listener& listener);

// Once the listener is read: each route's effective redirect and response-field defaults (the
// route's own settings, else the listener's), and those for requests no route matched.
void resolveEdgePolicy(Listener& listener);

}  // namespace ballast::config
