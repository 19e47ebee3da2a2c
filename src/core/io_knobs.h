// src/core/io_knobs.h — experiment switches for the bulk copy path (#19), read once from the
// environment so one binary can be measured with each candidate on and off in the same run.
// Off (or the built-in default) unless set; docs/benchmarks.md has what each one measured.
#pragma once

#include <cstdint>

namespace ballast::core {

// Bytes per data chunk: BALLAST_CHUNK_KIB (KiB, 4 to 1024), else kChunkBytes. Both backends
// receive into chunks of this size, so the pool's ceiling is kChunksPerWorker times this.
uint32_t chunkBytesFromEnv();
// io_uring: the multishot recv takes bundles, several ring buffers per completion
// (BALLAST_RECV_BUNDLE=on).
bool recvBundles();

}  // namespace ballast::core
