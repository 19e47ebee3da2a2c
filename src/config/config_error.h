// src/config/config_error.h — one problem found in a configuration file, with its position.
#pragma once

#include <string>

namespace ballast::config {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no position (an unreadable file)
  int column = 0;  // 1-based
  std::string message;

  // "file:line:col: message", or "file: message" without a position, as compilers print.
  std::string format() const {
    if (line <= 0) {
      return file + ": " + message;
    }
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
  }
};

}  // namespace ballast::config
