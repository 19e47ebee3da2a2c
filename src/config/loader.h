// src/config/loader.h — reads a YAML config file (and what it includes) into a Config,
// collecting every error with file:line:column instead of stopping at the first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/config_types.h"
#include "config/units.h"

namespace ballast::config {

struct LoadResult {
  ConfigPtr config;                 // set only when errors is empty
  std::vector<ConfigError> errors;  // every error found, not just the first (capped at kMaxErrors)
  std::vector<ConfigError> warnings;  // valid, but worth a look (a certificate near expiry)
  bool unreadable = false;  // the top file could not be read (exit code 2 in `ballast validate`)
};

struct LoadOptions {
  // False makes any `include:` an error without touching the filesystem; the fuzzer uses it
  // so that generated globs cannot wander over the disk.
  bool follow_includes = true;
};

// Never throws: library exceptions become errors at their position.
LoadResult loadConfigFile(const std::string& path, const LoadOptions& options = {});
// For tests and the fuzzer. filename names the text in errors; includes are relative to
// base_dir.
LoadResult loadConfigText(std::string_view yaml, const std::string& filename,
                          const std::string& base_dir = ".", const LoadOptions& options = {});

// One document of a configuration spread over several (etcd keys): name is what errors show
// ("etcd:/ballast/prod/main").
struct NamedDocument {
  std::string name;
  std::string text;
};
// Each document read as a top file, in order, into one Config (config_source.h checks them
// first; use loadConfigDocuments).
LoadResult loadConfigTexts(const std::vector<NamedDocument>& documents, const LoadOptions& options);

}  // namespace ballast::config
