// src/core/socket.cpp — socket set-up helpers.
#include "core/socket.h"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/limits.h"

namespace ballast::core {

Result<int> openListener(const net::SocketAddress& bind, bool stream) {
  const int fd =
      socket(bind.family(), (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error{Errc::kSystem, "socket", errno};
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (stream) {
    // Accepted sockets inherit it: an answer written in pieces (a compressed body, then its
    // last chunk) must not wait for the client's delayed ACK (40 ms), as NGINX's tcp_nodelay.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  if (bind.isV6()) {
    // "[::]:80" should mean IPv6 only; a separate "0.0.0.0:80" listener takes IPv4.
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (::bind(fd, bind.sockaddrPtr(), bind.length()) != 0) {
    const int err = errno;
    ::close(fd);
    return Error{Errc::kSystem, "bind", err};
  }
  if (stream && ::listen(fd, kListenBacklog) != 0) {
    const int err = errno;
    ::close(fd);
    return Error{Errc::kSystem, "listen", err};
  }
  return fd;
}

Result<Ok> probeAddressFree(const net::SocketAddress& bind, bool stream) {
  const int fd = socket(bind.family(), (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error{Errc::kSystem, "socket", errno};
  }
  const int one = 1;
  // SO_REUSEADDR, not SO_REUSEPORT: TIME_WAIT leftovers do not count, live listeners do.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind.isV6()) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  const bool ok = ::bind(fd, bind.sockaddrPtr(), bind.length()) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    return Error{Errc::kSystem, "bind", err};
  }
  return Ok{};
}

Result<int> openStreamSocket(const net::SocketAddress& to) {
  const int fd = socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error{Errc::kSystem, "socket", errno};
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

void setLingerZero(int fd) {
  linger l{};
  l.l_onoff = 1;
  l.l_linger = 0;
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

net::SocketAddress peerAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return {};
  }
  return net::SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

net::SocketAddress localAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return {};
  }
  return net::SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace ballast::core
