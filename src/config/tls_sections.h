// src/config/tls_sections.h — the `tls:` block of a protocol: https listener.
#pragma once

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// Reads the block and loads each certificate and key, so that `ballast validate` reports a
// missing file, an unreadable PEM or a key that does not match its certificate at the
// certificate's line:column.
void readTlsServer(FileReader& file, const Field& field, TlsServerSettings& tls);

// A pool's `tls:` block (TLS towards its backends), its files checked the same way.
void readUpstreamTls(FileReader& file, const Field& field, UpstreamTls& tls);

}  // namespace ballast::config
