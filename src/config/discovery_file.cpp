// src/config/discovery_file.cpp — reads a pool's discovery file with the `backends:` readers.
#include "config/discovery_file.h"

#include "config/file_text.h"
#include "config/sections.h"
#include "config/yaml_document.h"

namespace ballast::config {

bool readDiscoveryFile(Pool& pool, bool allow_exec, Diagnostics& diagnostics) {
  const std::string& path = pool.discovery.file;
  std::string text;
  if (const auto err = readWholeFile(path, text)) {
    diagnostics.add({path, 0, 0}, "discovery file of pool \"" + pool.name + "\": cannot read " +
                                      path + ": " + *err);
    return false;
  }
  const size_t errors_before = diagnostics.errorCount();
  FileReader reader(path, diagnostics);
  const auto root = parseDocument(reader, text);
  if (!root) {
    return false;
  }
  Pool scratch = pool;
  scratch.backends.clear();
  scratch.dns_backends.clear();
  if (!root->IsNull()) {  // an empty file: no backends for now
    const Field list{"backends", *root, root->Mark()};
    readBackends(reader, list, scratch, allow_exec, /*allow_empty=*/true);
  }
  if (!scratch.dns_backends.empty()) {
    diagnostics.add({path, 0, 0}, "discovery file of pool \"" + pool.name +
                                      "\": backends by name (" + scratch.dns_backends.front().host +
                                      ") are not resolved from a discovery file; list addresses");
  }
  if (diagnostics.errorCount() != errors_before) {
    return false;
  }
  if (scratch.tls.enabled) {
    checkOverTls(scratch);
  }
  pool.backends = std::move(scratch.backends);
  return true;
}

std::optional<std::vector<Backend>> discoverBackends(const Pool& pool, bool allow_exec,
                                                     std::vector<ConfigError>* errors) {
  Diagnostics diagnostics;
  Pool scratch = pool;
  if (!readDiscoveryFile(scratch, allow_exec, diagnostics)) {
    *errors = diagnostics.take();
    return std::nullopt;
  }
  return std::move(scratch.backends);
}

}  // namespace ballast::config
