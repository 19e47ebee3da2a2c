// src/config/host_names.h — the spelling rules for host names in the config (route hosts, SNI
// names), shared so that the HTTP router and the SNI router accept the same names.
#pragma once

#include <string_view>

namespace ballast::config {

inline char lowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline bool isLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Dot-separated non-empty labels: a DNS name or an IPv4 address. No trailing dot, so that one
// host has one spelling (the routers drop a request's trailing dot before comparing).
inline bool isDottedName(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '.') {
      if (text[i - 1] == '.') {
        return false;
      }
    } else if (!isLabelChar(text[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace ballast::config
