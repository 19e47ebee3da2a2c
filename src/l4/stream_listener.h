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
#include <xxhash.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/accept_error.h"
#include "core/clock.h"
#include "core/event_loop.h"
#include "core/log.h"
#include "core/object_pool.h"
#include "net/address.h"
#include "policy/client_prefix.h"
#include "policy/conn_count_table.h"
#include "policy/gcra_table.h"

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
    per_ip_seed_ = perIpSeed(env_.listener->name);
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
    per_ip_seed_ = perIpSeed(env_.listener->name);
    if (accepting_ && sessions_ < max_sessions_) {
      env_.loop->resumeAccept(acceptor_);
    }
  }

  uint32_t sessions() const { return sessions_; }

  static uint64_t perIpSeed(std::string_view listener_name) {
    return XXH3_64bits(listener_name.data(), listener_name.size());
  }
  bool acceptorReleased() const { return acceptor_released_; }

  void onAccept(core::Watcher& /*w*/, int fd) override {
    const bool acl = env_.listener->acl.enabled();
    const bool per_ip = env_.listener->limits.perIpLimited();
    net::SocketAddress peer;
    if ((acl || per_ip) && !peerOf(fd, peer)) {
      return;
    }
    if (acl && !admitted(fd, peer)) {
      return;
    }
    if (sessions_ >= max_sessions_) {
      // io_uring may hand over a connection accepted just before the pause took effect.
      core::LogLine(core::LogLevel::kWarn, "l4.over_limit").str("listener", env_.listener->name);
      ::close(fd);
      return;
    }
    uint32_t slot = policy::ConnCountTable::kUncounted;
    if (per_ip && !admittedPerIp(fd, peer, slot)) {
      return;
    }
    ++sessions_;
    Session* s = pool_.acquire(env_, fd);
    s->live_index = static_cast<uint32_t>(live_.size());
    live_.push_back(s);
    per_ip_slots_.push_back(slot);
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

  // Out of descriptors or memory: the loop stopped accepting for `pause_ms`, leaving the
  // connections queued in the kernel, and resumes by itself. Closing a session frees room
  // too, but the back-off is short enough not to need waking early.
  void onAcceptPaused(core::Watcher& /*w*/, int err, uint32_t pause_ms) override {
    env_.counters->accept_errors_total[static_cast<size_t>(core::classifyAcceptError(err))].add();
    core::LogLine(core::LogLevel::kWarn, "l4.accept_paused", core::LogRepeat::kLimited)
        .str("listener", env_.listener->name)
        .str("reason", core::acceptErrorName(err))
        .str("error", core::acceptErrorText(err))
        .unum("pause_ms", pause_ms)
        .unum("sessions", sessions_);
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

  // The client's address, for the acl and the per-IP limits: one getpeername, paid only by
  // listeners that have either. False (and fd closed) when the client is already gone.
  static bool peerOf(int fd, net::SocketAddress& peer) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      ::close(fd);
      return false;
    }
    peer = net::SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    return true;
  }

  // The per-IP limits, at accept, across all workers (shared tables): open connections first,
  // then the rate of new ones (a connection refused for the first takes no token of the
  // second). A refused client is closed before any byte is read.
  bool admittedPerIp(int fd, const net::SocketAddress& peer, uint32_t& slot) {
    const auto& limits = env_.listener->limits;
    const uint64_t key = policy::hashClientPrefix(per_ip_seed_, peer, limits.per_ip_ipv4_prefix,
                                                  limits.per_ip_ipv6_prefix);
    const char* refused = nullptr;
    if (limits.max_connections_per_ip != 0) {
      const auto a = policy::ConnCountTable::process().acquire(key, limits.max_connections_per_ip);
      if (!a.admitted) {
        env_.counters->per_ip_max_refused_total.add();
        refused = "max_connections_per_ip";
      }
      slot = a.slot;
    }
    if (refused == nullptr && limits.connection_rate_per_ip != 0) {
      constexpr uint64_t kUsPerSecond = 1'000'000;
      const auto limit = policy::GcraLimit::of(limits.connection_rate_per_ip,
                                               limits.connection_rate_period_s * kUsPerSecond,
                                               limits.connection_burst_per_ip);
      // A different seed: the rate's key must not be the count's key in the shared GCRA table.
      if (!policy::GcraTable::process().take(~key, limit, core::monotonicUs()).allowed) {
        env_.counters->per_ip_rate_refused_total.add();
        policy::ConnCountTable::process().release(slot);
        slot = policy::ConnCountTable::kUncounted;
        refused = "connection_rate_per_ip";
      }
    }
    if (refused == nullptr) {
      return true;
    }
    core::LogLine(core::LogLevel::kInfo, "l4.per_ip_refused", core::LogRepeat::kLimited)
        .str("listener", env_.listener->name)
        .str("client", peer.toString())
        .str("limit", refused);
    ::close(fd);
    return false;
  }

  // The listener's acl, at accept: a refused client is closed before any byte is read.
  bool admitted(int fd, const net::SocketAddress& peer) {
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
    policy::ConnCountTable::process().release(per_ip_slots_[s->live_index]);
    per_ip_slots_[s->live_index] = per_ip_slots_.back();
    per_ip_slots_.pop_back();
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
  // Per session, by live_index: its place in the per-IP connection table, given back when it
  // ends (kUncounted when the listener has no per-IP limit).
  std::vector<uint32_t> per_ip_slots_;
  // Keeps this listener's clients apart from other listeners' in the shared per-IP tables.
  uint64_t per_ip_seed_ = 0;
};

}  // namespace ballast::l4
