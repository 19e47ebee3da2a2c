// src/control/admin_server.h — a small HTTP/1.1 server on the control thread's loop for the
// admin API, the metrics endpoint and the dashboard. Requests are parsed by our strict codec;
// responses are built whole by the handler (admin answers are small) except event streams,
// which stay open and receive broadcast() data. Control thread only.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "control/admin_http.h"
#include "control/tls_channel.h"
#include "core/event_loop.h"
#include "core/fd.h"
#include "net/address.h"

namespace ballast::control {

// Limits of one admin server; admin traffic is a person or a scraper, never bulk.
inline constexpr size_t kMaxAdminConnections = 64;
inline constexpr size_t kMaxAdminBodyBytes = size_t{1} << 20;
inline constexpr size_t kMaxAdminBacklogBytes = size_t{4} << 20;  // an event stream's unsent data
inline constexpr uint64_t kAdminIdleTimeoutMs = 60'000;
// A graceful stop gives an open connection this long to send the request it may already have
// on its way, as the proxy does for keep-alive clients (kDrainIdleGraceMs).
inline constexpr uint64_t kAdminDrainGraceMs = 1000;

class AdminServer {
 public:
  using Handler = std::function<AdminResponse(AdminRequest&)>;

  AdminServer(core::EventLoop& loop, Handler handler);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds a unix socket at path (mode 0660, parent directory created 0750). A stale socket
  // file is replaced; one a live process still accepts on is refused.
  bool listenUnix(const std::string& path, std::string* error);
  // With `tls`, connections speak HTTPS (admin.tls).
  bool listenTcp(const net::SocketAddress& addr, std::string* error, SslCtxPtr tls = nullptr);
  // Serves an already-listening socket (handed over by a binary upgrade); a unix one is
  // removed from the filesystem at close() like one this server bound.
  void adoptListener(core::Fd fd, bool unix_socket, const std::string& unix_path = "",
                     SslCtxPtr tls = nullptr);
  // The listening sockets of one kind, for a binary upgrade to hand over.
  std::vector<int> listenerFds(bool unix_socket) const;
  // After a handover the socket file belongs to the new process: leave it at close().
  void forgetUnixPath() { unix_path_.clear(); }

  // Appends `data` (already SSE-framed) to every open event stream.
  void broadcast(const std::string& data);
  // Graceful stop, first half: stops accepting; event streams end now, other connections
  // answer at most one more request (with Connection: close) within kAdminDrainGraceMs.
  // The caller runs the loop until connections() is 0 or the grace is over, then close().
  void drain();
  // Stops accepting and closes every connection (shutdown).
  void close();
  size_t connections() const { return connections_.size(); }
  size_t eventStreams() const;

  class Connection;

 private:
  struct Acceptor;
  friend class Connection;
  void onAccept(Acceptor& a, int fd);
  void release(Connection* c);
  void addAcceptor(core::Fd fd, bool unix_socket, SslCtxPtr tls);
  void stopAccepting();

  core::EventLoop& loop_;
  Handler handler_;
  std::list<std::unique_ptr<Acceptor>> acceptors_;
  std::list<std::unique_ptr<Connection>> connections_;
  std::string unix_path_;  // removed at close
};

}  // namespace ballast::control
