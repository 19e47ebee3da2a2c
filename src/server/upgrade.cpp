// src/server/upgrade.cpp — the handover protocol over a unix stream socket.
//
//   new → old:  POST /api/v1/upgrade HTTP/1.1 (an ordinary admin request)
//   old → new:  "BALLAST-HANDOVER <manifest JSON>\n" carrying the first batch of fds, then one
//               byte per further batch (SCM_RIGHTS carries at most kMaxFdsPerMessage each)
//   new → old:  "READY\n" once its workers accept on the sockets
//   old → new:  the HTTP response, then it stops accepting and drains
#include "server/upgrade.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace ballast::server {
namespace {

constexpr size_t kMaxFdsPerMessage = 250;  // the kernel's SCM_MAX_FD is 253
constexpr std::string_view kMagic = "BALLAST-HANDOVER ";
constexpr std::string_view kReady = "READY\n";
constexpr size_t kMaxManifestBytes = size_t{1} << 20;

bool sendWithFds(int fd, const void* data, size_t len, const int* fds, size_t nfds,
                 std::string* error) {
  iovec iov{const_cast<void*>(data), len};  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  std::vector<char> control(CMSG_SPACE(sizeof(int) * nfds));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
  }
  size_t sent = 0;
  while (sent < len) {
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      *error = std::string("sendmsg: ") + std::strerror(errno);
      return false;
    }
    sent += static_cast<size_t>(n);
    // The fds went with the first byte; the rest is plain data.
    iov.iov_base = static_cast<char*>(iov.iov_base) + n;
    iov.iov_len -= static_cast<size_t>(n);
    msg.msg_control = nullptr;
    msg.msg_controllen = 0;
  }
  return true;
}

// Reads into `out`, collecting any fds passed along. False on EOF, error or timeout.
bool recvSome(int fd, std::string& out, std::vector<core::Fd>& fds, uint64_t deadline_ms,
              std::string* error) {
  const uint64_t now = core::monotonicMs();
  if (now >= deadline_ms) {
    *error = "timed out";
    return false;
  }
  pollfd pfd{fd, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(deadline_ms - now)) <= 0) {
    *error = "timed out";
    return false;
  }
  std::array<char, 4096> buf{};  // NOLINT(readability-magic-numbers)
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage));
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  const ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  if (n <= 0) {
    *error = n == 0 ? "connection closed" : std::string("recvmsg: ") + std::strerror(errno);
    return false;
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0) {
    *error = "file descriptors truncated (RLIMIT_NOFILE too low?)";
    return false;
  }
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
      const size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      std::vector<int> raw(count);
      std::memcpy(raw.data(), CMSG_DATA(cm), count * sizeof(int));
      for (const int f : raw) {
        fds.emplace_back(f);
      }
    }
  }
  out.append(buf.data(), static_cast<size_t>(n));
  return true;
}

}  // namespace

bool sendHandover(int conn_fd, const HandoverSockets& sockets, std::string* error) {
  nlohmann::json manifest;
  std::vector<int> all;
  nlohmann::json listeners = nlohmann::json::array();
  for (const auto& [key, fds] : sockets.listeners) {
    listeners.push_back({{"key", key}, {"count", fds.size()}});
    all.insert(all.end(), fds.begin(), fds.end());
  }
  manifest["listeners"] = listeners;
  manifest["admin_unix"] = sockets.admin_unix.size();
  manifest["admin_tcp"] = sockets.admin_tcp.size();
  manifest["metrics"] = sockets.metrics.size();
  for (const auto* list : {&sockets.admin_unix, &sockets.admin_tcp, &sockets.metrics}) {
    all.insert(all.end(), list->begin(), list->end());
  }
  manifest["total"] = all.size();
  // The control thread may block here: workers keep serving meanwhile, and the exchange is
  // bounded by kHandoverTimeoutMs.
  const int flags = ::fcntl(conn_fd, F_GETFL);
  ::fcntl(conn_fd, F_SETFL, flags & ~O_NONBLOCK);
  const std::string head = std::string(kMagic) + manifest.dump() + "\n";
  bool ok = true;
  size_t off = std::min(all.size(), kMaxFdsPerMessage);
  ok = sendWithFds(conn_fd, head.data(), head.size(), all.data(), off, error);
  while (ok && off < all.size()) {
    const size_t n = std::min(all.size() - off, kMaxFdsPerMessage);
    const char marker = '+';
    ok = sendWithFds(conn_fd, &marker, 1, all.data() + off, n, error);
    off += n;
  }
  ::fcntl(conn_fd, F_SETFL, flags);
  if (!ok) {
    return false;
  }
  std::string reply;
  std::vector<core::Fd> none;
  const uint64_t deadline = core::monotonicMs() + kHandoverTimeoutMs;
  while (reply.find('\n') == std::string::npos) {
    if (!recvSome(conn_fd, reply, none, deadline, error)) {
      *error = "the new process did not confirm: " + *error;
      return false;
    }
  }
  if (!reply.starts_with(kReady)) {
    *error = "the new process answered: " + reply.substr(0, reply.find('\n'));
    return false;
  }
  return true;
}

std::optional<InheritedSockets> requestHandover(const std::string& admin_socket,
                                                std::string* error) {
  InheritedSockets in;
  sockaddr_un sun{};
  if (admin_socket.empty() || admin_socket.size() >= sizeof(sun.sun_path)) {
    *error = "--upgrade needs admin.socket (the running daemon's admin socket)";
    return std::nullopt;
  }
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, admin_socket.c_str(), admin_socket.size() + 1);
  in.channel.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(in.channel.get(), reinterpret_cast<const sockaddr*>(&sun), sizeof(sun)) != 0) {
    *error = "cannot reach the running daemon at " + admin_socket + ": " + std::strerror(errno);
    return std::nullopt;
  }
  const std::string request =
      "POST /api/v1/upgrade HTTP/1.1\r\nHost: ballast\r\nContent-Length: 0\r\n\r\n";
  if (::send(in.channel.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    *error = std::string("send: ") + std::strerror(errno);
    return std::nullopt;
  }
  std::string data;
  std::vector<core::Fd> fds;
  const uint64_t deadline = core::monotonicMs() + kHandoverTimeoutMs;
  while (data.find('\n') == std::string::npos) {
    if (!recvSome(in.channel.get(), data, fds, deadline, error) ||
        data.size() > kMaxManifestBytes) {
      *error = "no handover from the running daemon: " + *error;
      return std::nullopt;
    }
  }
  if (!data.starts_with(kMagic)) {
    *error = "the running daemon refused: " + data.substr(0, data.find("\r\n\r\n"));
    return std::nullopt;
  }
  const auto manifest = nlohmann::json::parse(
      data.substr(kMagic.size(), data.find('\n') - kMagic.size()), nullptr, false);
  if (manifest.is_discarded() || !manifest.contains("total")) {
    *error = "malformed handover manifest";
    return std::nullopt;
  }
  const auto total = manifest["total"].get<size_t>();
  std::string rest = data.substr(data.find('\n') + 1);
  while (fds.size() < total) {
    if (!recvSome(in.channel.get(), rest, fds, deadline, error)) {
      *error = "handover cut short: " + *error;
      return std::nullopt;
    }
  }
  size_t next = 0;
  const auto take = [&](size_t n, std::vector<core::Fd>& into) {
    for (size_t i = 0; i < n && next < fds.size(); ++i) {
      into.push_back(std::move(fds[next++]));
    }
  };
  for (const auto& l : manifest["listeners"]) {
    take(l["count"].get<size_t>(), in.listeners[l["key"].get<std::string>()]);
  }
  take(manifest["admin_unix"].get<size_t>(), in.admin_unix);
  take(manifest["admin_tcp"].get<size_t>(), in.admin_tcp);
  take(manifest["metrics"].get<size_t>(), in.metrics);
  return in;
}

bool confirmHandover(InheritedSockets& inherited, std::string* error) {
  if (::send(inherited.channel.get(), kReady.data(), kReady.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(kReady.size())) {
    *error = std::string("send: ") + std::strerror(errno);
    return false;
  }
  // The old process answers once it has marked its sockets; wait for that (or its close) so
  // the new one never races it on the socket state.
  std::string reply;
  std::vector<core::Fd> none;
  std::string ignored;
  const uint64_t deadline = core::monotonicMs() + kHandoverTimeoutMs;
  while (reply.find("\r\n\r\n") == std::string::npos &&
         recvSome(inherited.channel.get(), reply, none, deadline, &ignored)) {
  }
  inherited.channel.reset();
  return true;
}

}  // namespace ballast::server
