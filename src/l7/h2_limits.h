// src/l7/h2_limits.h — the HTTP/2 codec's fixed limits; the tunable ones are the listener's
// http2_limits (config::Http2Limits). These bound protocol details no operator needs to tune,
// stated here so that a library update cannot loosen them behind our back.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ballast::l7::h2_limits {

// Entries in one SETTINGS frame.
inline constexpr size_t kMaxSettingsEntries = 32;
// Control-frame answers (SETTINGS ACK, PING ACK, RST_STREAM) queued because the client does not
// read them: a SETTINGS or PING flood ends with the connection once this many wait.
inline constexpr size_t kMaxQueuedAcks = 1000;

}  // namespace ballast::l7::h2_limits
