// src/core/io_knobs.cpp — the bulk-path experiment switches, each read once.
#include "core/io_knobs.h"

#include <cstdlib>
#include <cstring>

#include "core/limits.h"

namespace ballast::core {
namespace {

constexpr uint32_t kKiB = 1024;
constexpr uint32_t kMinChunkKiB = 4;
constexpr uint32_t kMaxChunkKiB = 1024;

uint32_t envNumber(const char* name, uint32_t fallback) {
  const char* v = getenv(name);  // NOLINT(concurrency-mt-unsafe): no setenv after start-up
  if (v == nullptr || *v == '\0') {
    return fallback;
  }
  return static_cast<uint32_t>(strtoul(v, nullptr, 10));
}

}  // namespace

uint32_t chunkBytesFromEnv() {
  static const uint32_t bytes = [] {
    const uint32_t kib = envNumber("BALLAST_CHUNK_KIB", kChunkBytes / kKiB);
    return (kib < kMinChunkKiB ? kMinChunkKiB : kib > kMaxChunkKiB ? kMaxChunkKiB : kib) * kKiB;
  }();
  return bytes;
}

bool recvBundles() {
  static const bool on = [] {
    const char* v = getenv("BALLAST_RECV_BUNDLE");  // NOLINT(concurrency-mt-unsafe)
    return v != nullptr && strcmp(v, "on") == 0;
  }();
  return on;
}

}  // namespace ballast::core
