// src/config/file_text.h — reads a whole configuration file (the main file, an include, a
// discovery list) with the same bounds: a regular file of at most kMaxConfigFileBytes.
#pragma once

#include <optional>
#include <string>

namespace ballast::config {

// Fills `out` with the file's bytes; on failure returns why (and leaves `out` alone).
std::optional<std::string> readWholeFile(const std::string& path, std::string& out);

}  // namespace ballast::config
