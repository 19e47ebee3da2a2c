// src/config/config_source.h — where the served configuration comes from. A file passed with
// `-c` is the configuration itself, unless its top level has `config_source:`; then it is the
// bootstrap: it says where the rest is (an etcd prefix), and its other sections are the
// node's own (admin:, metrics:), joined as the first document before the prefix's keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/loader.h"

namespace ballast::config {

struct EtcdSourceSettings {
  std::vector<std::string> endpoints;  // http:// or https:// base URLs, tried in order
  std::string prefix;                  // every key under it is one YAML document
  std::string ca;                      // tls: PEM CA file; empty for the system's store
  std::string cert;                    // tls: client certificate and key (both or neither)
  std::string key;
};

struct ConfigSourceRead {
  std::optional<EtcdSourceSettings> etcd;  // nullopt: the file is the configuration
  std::vector<ConfigError> errors;
  bool unreadable = false;
};

// Looks at the file's top level only; a file without config_source is left to the loader.
ConfigSourceRead readConfigSource(const std::string& path);
// The same for text (tests, the fuzzer); filename names it in errors.
ConfigSourceRead readConfigSourceText(std::string_view yaml, const std::string& filename);

// The configuration that the documents, in order, make together: each is a mapping of
// top-level sections, as a config file is; the first may be the bootstrap file (the only one
// allowed config_source). A section set by two documents is an error naming both; `include:`
// is refused (there is no directory to include from). Never throws.
LoadResult loadConfigDocuments(const std::vector<NamedDocument>& documents);

}  // namespace ballast::config
