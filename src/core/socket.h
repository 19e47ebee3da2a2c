// src/core/socket.h — socket set-up shared by listeners, backends and health checks.
#pragma once

#include "core/result.h"
#include "net/address.h"

namespace ballast::core {

// A non-blocking listening socket with SO_REUSEPORT, so every worker can bind its own.
// `stream` picks TCP (listen() with a backlog) or UDP (bound only).
Result<int> openListener(const net::SocketAddress& bind, bool stream);
// Whether another socket (another process, most likely) already holds `bind`. SO_REUSEPORT
// would otherwise let a second Ballast bind the same port and silently take a share of the
// traffic; a plain bind probe refuses that as EADDRINUSE.
Result<Ok> probeAddressFree(const net::SocketAddress& bind, bool stream);
// A non-blocking TCP socket for connecting to `to` (TCP_NODELAY set).
Result<int> openStreamSocket(const net::SocketAddress& to);
// Makes close() send an RST instead of a FIN (carrying a peer's reset across the proxy).
void setLingerZero(int fd);
// The peer and local addresses of a connected socket.
net::SocketAddress peerAddress(int fd);
net::SocketAddress localAddress(int fd);

}  // namespace ballast::core
