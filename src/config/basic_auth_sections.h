// src/config/basic_auth_sections.h — the `basic_auth:` key of an http listener or a route: user
// names and passwords checked at the edge against an htpasswd file read (and checked) at load.
#pragma once

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// Reads `basic_auth: {realm, users_file, forward_credentials}` (or `basic_auth: off` on a
// route: no check there) into `auth`. The users file's own errors point into that file.
void readBasicAuth(FileReader& file, const Field& field, BasicAuth& auth);

}  // namespace ballast::config
