// src/core/io_knobs.cpp — the bulk-path switches, each read once.
#include "core/io_knobs.h"

#include <cstdlib>
#include <cstring>

namespace ballast::core {

bool recvBundles() {
  static const bool on = [] {
    const char* v = getenv("BALLAST_RECV_BUNDLE");  // NOLINT(concurrency-mt-unsafe)
    return v == nullptr || strcmp(v, "off") != 0;
  }();
  return on;
}

}  // namespace ballast::core
