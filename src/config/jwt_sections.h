// src/config/jwt_sections.h — the `jwt:` key of an http listener or a route: bearer-token
// checks at the edge, with the JWKS read (and refused when unusable) at load.
#pragma once

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// Reads `jwt: {…}` (or `jwt: off` on a route: no check there) into `jwt`; errors point at the
// offending value, and into the JWKS file's name when the set cannot be used.
void readJwt(FileReader& file, const Field& field, JwtAuth& jwt);

}  // namespace ballast::config
