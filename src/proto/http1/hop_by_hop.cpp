// src/proto/http1/hop_by_hop.cpp — the hop-by-hop tests of hop_by_hop.h.
#include "proto/http1/hop_by_hop.h"

#include <array>

#include "proto/http1/syntax.h"

namespace ballast::proto::http1 {

bool isFixedHopByHop(std::string_view name) {
  static constexpr auto kNames = std::to_array<std::string_view>({
      "Connection",
      "Keep-Alive",
      "TE",
      "Trailer",
      "Transfer-Encoding",
      "Upgrade",
      "Proxy-Connection",
      "Proxy-Authenticate",
      "Proxy-Authorization",
  });
  for (const std::string_view fixed : kNames) {
    if (equalsIgnoreCase(name, fixed)) {
      return true;
    }
  }
  return false;
}

bool isConnectionOption(std::string_view name, std::span<const Header> headers) {
  if (equalsIgnoreCase(name, "Host")) {
    return false;
  }
  for (const Header& header : headers) {
    if (!equalsIgnoreCase(header.name, "Connection")) {
      continue;
    }
    ListCursor options(header.value);
    std::string_view option;
    while (options.next(&option)) {
      if (equalsIgnoreCase(option, name)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace ballast::proto::http1
