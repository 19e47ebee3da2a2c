// src/l4/proxy_header_reader.h — reads a client's PROXY protocol header from the front of a
// connection's received chunks, for the TCP and HTTP listeners that accept one.
#pragma once

#include "core/chunk_pool.h"
#include "core/event_loop.h"
#include "core/result.h"
#include "proto/proxy_protocol/proxy_protocol.h"

namespace ballast::l4 {

// Parses the header at the front of `received`. On success the header's bytes are consumed
// (what follows stays queued). Errc::kNeedMore: wait for more bytes; kBadInput: close the
// connection (the caller logs `l4.proxy_header_invalid`).
core::Result<proto::proxy_protocol::ProxyHeader> readProxyHeader(core::EventLoop& loop,
                                                                 core::ChunkQueue& received);

}  // namespace ballast::l4
