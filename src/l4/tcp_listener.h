// src/l4/tcp_listener.h — one worker's acceptor for one TCP listener: admits connections up to
// this worker's share of max_connections (the rest wait in the kernel backlog, as with
// HAProxy's maxconn) and owns the sessions it started.
#pragma once

#include <cstdint>

#include "core/event_loop.h"
#include "core/object_pool.h"
#include "l4/tcp_session.h"

namespace ballast::l4 {

class TcpListener final : public core::WatchHandler {
 public:
  // `fd` stays owned by the caller and must outlive this listener's acceptor.
  TcpListener(const SessionEnv& env, int fd, uint32_t max_sessions);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  void start();
  // Stop accepting; sessions in flight carry on.
  void stopAccepting();
  // Close every session now (shutdown deadline).
  void abortSessions();
  // A reload kept this listener: new sessions use the new generation's config and pool.
  void update(const SessionEnv& env, uint32_t max_sessions);

  uint32_t sessions() const { return sessions_; }
  bool acceptorReleased() const { return acceptor_released_; }
  const config::Listener& config() const { return *env_.listener; }

  void onAccept(core::Watcher& w, int fd) override;
  void onReleased(core::Watcher& w) override;
  void sessionEnded(TcpSession* s);

  uint64_t accepted() const { return accepted_; }

 private:
  SessionEnv env_;
  core::Watcher acceptor_;
  int fd_;
  uint32_t max_sessions_;
  uint32_t sessions_ = 0;
  bool accepting_ = false;
  bool acceptor_released_ = true;
  uint64_t accepted_ = 0;
  core::ObjectPool<TcpSession> pool_;
  // Live sessions, for abortSessions(); intrusive would save memory, this keeps sessions lean.
  std::vector<TcpSession*> live_;
};

}  // namespace ballast::l4
