// src/config/acme_sections.h — the `tls.acme:` block of a protocol: https listener.
#pragma once

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// Reads and checks the block: an https directory URL, valid domain names, a known challenge
// type and a storage directory this process can write (or create). Errors at line:column.
void readAcme(FileReader& file, const Field& field, AcmeSettings& acme);

}  // namespace ballast::config
