// src/l7/sticky.h — sticky sessions: a cookie whose value names a backend without revealing its
// address (a keyed hash of pool and address), honoured while that backend is up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "upstream/worker_pool.h"

namespace ballast::l7 {

// 16 hex digits, stable across restarts and workers for the same pool and backend address.
std::string stickyValue(const std::string& pool, const upstream::BackendState& backend);

// The backend a cookie value names, if it is in the pool and up.
std::optional<uint32_t> stickyBackend(upstream::WorkerPool& pool, std::string_view value);

}  // namespace ballast::l7
