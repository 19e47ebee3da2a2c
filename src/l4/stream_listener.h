// src/l4/stream_listener.h — one worker's acceptor for one stream listener (TCP proxy or HTTP):
// admits connections up to this worker's share of max_connections (the rest wait in the kernel
// backlog, as with HAProxy's maxconn) and owns the sessions it started, from a slab.
//
// Session must provide: `using Env = ...` (a struct with members `loop`, `listener`, `epoch`
// and `owner`, the last a StreamListener<Session>*), a constructor (const Env&, int fd),
// start(), abort() and a `uint32_t live_index` member.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "core/event_loop.h"
#include "core/log.h"
#include "core/object_pool.h"
#include "net/address.h"

namespace ballast::l4 {

// Bounds the one-off sweep of the accept queue after the acceptor stops (see sweepAcceptQueue).
constexpr uint32_t kMaxAcceptSweep = 1024;

template <typename Session>
class StreamListener final : public core::WatchHandler {
 public:
  using Env = typename Session::Env;

  // `fd` stays owned by the caller and must outlive this listener's acceptor.
  StreamListener(const Env& env, int fd, uint32_t max_sessions)
      : env_(env), fd_(fd), max_sessions_(max_sessions) {
    env_.owner = this;
    env_.epoch->ref();
  }
  ~StreamListener() { env_.epoch->unref(); }
  StreamListener(const StreamListener&) = delete;
  StreamListener& operator=(const StreamListener&) = delete;

  void start() {
    accepting_ = true;
    acceptor_released_ = false;
    env_.loop->listen(acceptor_, fd_, this);
  }

  // Stop accepting; sessions in flight carry on (those that can say so are asked to finish:
  // an idle HTTP keep-alive connection closes at once).
  void stopAccepting() {
    if (!accepting_) {
      return;
    }
    accepting_ = false;
    env_.loop->unwatch(acceptor_);
    if constexpr (requires(Session * s) { s->drain(); }) {
      const auto snapshot = live_;
      for (Session* s : snapshot) {
        s->drain();
      }
    }
  }

  // Close every session now (shutdown deadline). Sessions leave live_ later, from their release
  // callbacks, so iterate over a copy.
  void abortSessions() {
    const auto snapshot = live_;
    for (Session* s : snapshot) {
      s->abort();
    }
  }

  // A reload kept this listener: new sessions use the new generation's settings.
  void update(const Env& env, uint32_t max_sessions) {
    env.epoch->ref();
    env_.epoch->unref();
    env_ = env;
    env_.owner = this;
    max_sessions_ = max_sessions;
    if (accepting_ && sessions_ < max_sessions_) {
      env_.loop->resumeAccept(acceptor_);
    }
  }

  uint32_t sessions() const { return sessions_; }
  bool acceptorReleased() const { return acceptor_released_; }

  void onAccept(core::Watcher& /*w*/, int fd) override {
    if (env_.listener->acl.enabled() && !admitted(fd)) {
      return;
    }
    if (sessions_ >= max_sessions_) {
      // io_uring may hand over a connection accepted just before the pause took effect.
      core::LogLine(core::LogLevel::kWarn, "l4.over_limit").str("listener", env_.listener->name);
      ::close(fd);
      return;
    }
    ++sessions_;
    Session* s = pool_.acquire(env_, fd);
    s->live_index = static_cast<uint32_t>(live_.size());
    live_.push_back(s);
    if (accepting_ && sessions_ >= max_sessions_) {
      env_.loop->pauseAccept(acceptor_);
    }
    s->start();
    // io_uring can complete an accept the kernel made just before stopAccepting() took effect.
    // The client already holds a connection: serve it like the others being drained, rather
    // than reset it (a binary upgrade under load lost requests that way).
    if (!accepting_) {
      if constexpr (requires(Session * d) { d->drain(); }) {
        s->drain();
      }
    }
  }

  void onReleased(core::Watcher& /*w*/) override {
    acceptor_released_ = true;
    sweepAcceptQueue();
  }

  // io_uring's accept waits on the listening socket as an *exclusive* waiter: a new connection
  // wakes one waiter only. During a binary upgrade both processes wait on the same socket; if
  // the kernel woke ours and our cancel then beat the accept, the connection stays queued while
  // the new process sleeps on until another client arrives (a quiet site could leave it
  // hanging). So once our acceptor is gone, take what is queued and serve it while draining.
  // The socket may already be shut down (a plain stop): accept then fails at once.
  void sweepAcceptQueue() {
    uint32_t swept = 0;
    while (swept < kMaxAcceptSweep) {
      const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        break;
      }
      ++swept;
      onAccept(acceptor_, fd);
    }
    if (swept > 0) {
      core::LogLine(core::LogLevel::kInfo, "l4.accept_queue_swept")
          .str("listener", env_.listener->name)
          .unum("connections", swept);
    }
  }

  // The listener's acl, at accept: a refused client is closed before any byte is read, and costs
  // one getpeername (only listeners with an acl pay it).
  bool admitted(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      ::close(fd);  // already gone
      return false;
    }
    const auto peer = net::SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    if (env_.listener->acl.admits(peer)) {
      return true;
    }
    env_.counters->acl_denied_total.add();
    core::LogLine(core::LogLevel::kInfo, "l4.acl_denied", core::LogRepeat::kLimited)
        .str("listener", env_.listener->name)
        .str("client", peer.toString());
    ::close(fd);
    return false;
  }

  // Called by a session whose sockets are both released; destroys it.
  void sessionEnded(Session* s) {
    Session* last = live_.back();
    live_[s->live_index] = last;
    last->live_index = s->live_index;
    live_.pop_back();
    pool_.release(s);
    --sessions_;
    if (accepting_ && sessions_ < max_sessions_) {
      env_.loop->resumeAccept(acceptor_);
    }
  }

 private:
  Env env_;
  core::Watcher acceptor_;
  int fd_;
  uint32_t max_sessions_;
  uint32_t sessions_ = 0;
  bool accepting_ = false;
  bool acceptor_released_ = true;
  core::ObjectPool<Session> pool_;
  std::vector<Session*> live_;  // for abortSessions(); swap-remove through live_index
};

}  // namespace ballast::l4
