// src/config/yaml_document.h — parses the one YAML document a config file holds, turning
// parser exceptions and yaml-cpp's known hangs into positioned errors.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string_view>

#include "config/yaml_reader.h"

namespace ballast::config {

// The document's root (a null node for an empty file), or nullopt after reporting why not:
// a syntax error, or more than one document. A second document is an error rather than
// ignored, so a stray "---" cannot hide half a file.
std::optional<YAML::Node> parseDocument(FileReader& file, std::string_view text);

}  // namespace ballast::config
