// src/l7/h2_limits.h — the HTTP/2 codec's fixed limits, in one place. Each bounds what one client
// connection can make us hold or do; the values follow nghttp2's own defaults where it has them,
// stated here so that a library update cannot loosen them behind our back.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ballast::l7::h2_limits {

// Streams open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). A client opening
// more gets RST_STREAM(REFUSED_STREAM) for the extra ones.
inline constexpr uint32_t kMaxConcurrentStreams = 100;
// Per stream, response bytes read from the backend and not yet framed for the client; beyond
// it the upstream connector stops reading. Request bytes are bounded by the stream window.
inline constexpr uint32_t kStreamBufferBytes = 64 * 1024;
// Rapid reset (CVE-2023-44487): RST_STREAM frames from the client, as a token bucket of this
// many, refilled at kResetsPerSecond. An empty bucket ends the connection with GOAWAY.
inline constexpr uint64_t kResetBurst = 1000;
inline constexpr uint64_t kResetsPerSecond = 33;
// CONTINUATION frames after one HEADERS frame (CVE-2024-27316 family); the header block's total
// size is bounded separately by limits.max_header_bytes.
inline constexpr size_t kMaxContinuations = 8;
// Entries in one SETTINGS frame.
inline constexpr size_t kMaxSettingsEntries = 32;
// Control-frame answers (SETTINGS ACK, PING ACK, RST_STREAM) queued because the client does not
// read them: a SETTINGS or PING flood ends with the connection once this many wait.
inline constexpr size_t kMaxQueuedAcks = 1000;

}  // namespace ballast::l7::h2_limits
