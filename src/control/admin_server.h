// src/control/admin_server.h — a small HTTP/1.1 server on the control thread's loop for the
// admin API, the metrics endpoint and the dashboard. Requests are parsed by our strict codec;
// responses are built whole by the handler (admin answers are small) except event streams,
// which stay open and receive broadcast() data. Control thread only.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/control_types.h"
#include "control/admin_http.h"
#include "core/event_loop.h"
#include "core/fd.h"
#include "net/address.h"
#include "tls/tls_channel.h"

namespace ballast::control {

// Limits of one admin server that config does not tune; admin traffic is a person or a
// scraper, never bulk.
inline constexpr size_t kMaxAdminBodyBytes = size_t{1} << 20;
inline constexpr size_t kMaxAdminBacklogBytes = size_t{4} << 20;  // an event stream's unsent data
// A graceful stop gives an open connection this long to send the request it may already have
// on its way, as the proxy does for keep-alive clients (kDrainIdleGraceMs).
inline constexpr uint64_t kAdminDrainGraceMs = 1000;

// Who may connect and for how long: the connection budgets and deadlines of one server (#21).
struct ServerPolicy {
  std::string name = "admin";  // "admin" or "metrics": the `server` log field and metric label
  config::ServerLimits limits;
  config::ServerTimeouts timeouts;
  std::vector<net::Cidr> allow;  // TCP peers admitted at accept; empty = any
};

// What the server refused and closed, for /metrics; counted on every event (the log is
// rate-limited).
struct ServerStats {
  uint64_t accepted_tcp_total = 0;
  uint64_t accepted_unix_total = 0;
  uint64_t refused_not_allowed_total = 0;    // outside `allow`, closed at accept
  uint64_t refused_full_total = 0;           // TCP budget full, nothing to evict
  uint64_t refused_peer_full_total = 0;      // the peer's own cap full, nothing to evict
  uint64_t refused_unix_full_total = 0;      // unix slots full, nothing to evict
  uint64_t refused_event_streams_total = 0;  // answered 503: event stream cap reached
  uint64_t evicted_total = 0;  // waiting for a request, closed to admit a new connection
  uint64_t header_timeouts_total = 0;
  uint64_t idle_timeouts_total = 0;
  uint64_t handshake_timeouts_total = 0;
  uint64_t tls_failures_total = 0;
};

class AdminServer {
 public:
  using Handler = std::function<AdminResponse(AdminRequest&)>;

  AdminServer(core::EventLoop& loop, Handler handler, ServerPolicy policy = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds a unix socket at path (mode 0660 from the umask at bind, so it is never reachable
  // wider; parent directory created 0750). A stale socket file is replaced; one a live process
  // still accepts on is refused.
  bool listenUnix(const std::string& path, std::string* error);
  // With `tls`, connections speak HTTPS (admin.tls).
  bool listenTcp(const net::SocketAddress& addr, std::string* error,
                 tls::SharedSslCtx tls = nullptr);
  // Serves an already-listening socket (handed over by a binary upgrade); a unix one is
  // removed from the filesystem at close() like one this server bound.
  void adoptListener(core::Fd fd, bool unix_socket, const std::string& unix_path = "",
                     tls::SharedSslCtx tls = nullptr);
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
  size_t eventStreams() const { return event_streams_; }
  // Connections holding a slot of the unix socket's or the TCP budget.
  size_t unixConnections() const { return unix_slots_; }
  size_t tcpConnections() const { return tcp_slots_; }
  const ServerStats& stats() const { return stats_; }
  const ServerPolicy& policy() const { return policy_; }
  // Takes effect for new connections and deadlines armed from now on (reload).
  void setPolicy(ServerPolicy policy) { policy_ = std::move(policy); }

  class Connection;

 private:
  struct Acceptor;
  friend class Connection;
  void onAccept(Acceptor& a, int fd);
  // Makes room for one more connection of the budget `unix_socket` / `peer` names by closing
  // the one that has waited longest for a request; false when none waits.
  bool evictFor(bool unix_socket, const std::string* peer);
  void release(Connection* c);
  void takeSlot(Connection& c);
  void returnSlot(Connection& c);
  void forget(Connection& c);  // returns its slot and its event-stream count
  void addAcceptor(core::Fd fd, bool unix_socket, tls::SharedSslCtx tls);
  void stopAccepting();

  core::EventLoop& loop_;
  Handler handler_;
  std::list<std::unique_ptr<Acceptor>> acceptors_;
  std::list<std::unique_ptr<Connection>> connections_;
  std::string unix_path_;  // removed at close
  ServerPolicy policy_;
  ServerStats stats_;
  size_t unix_slots_ = 0;
  size_t tcp_slots_ = 0;
  size_t event_streams_ = 0;
  std::unordered_map<std::string, uint32_t> tcp_per_peer_;
};

}  // namespace ballast::control
