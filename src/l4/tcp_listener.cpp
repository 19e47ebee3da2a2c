// src/l4/tcp_listener.cpp — accept, admit, and account for sessions.
#include "l4/tcp_listener.h"

#include <unistd.h>

#include "core/log.h"

namespace ballast::l4 {

TcpListener::TcpListener(const SessionEnv& env, int fd, uint32_t max_sessions)
    : env_(env), fd_(fd), max_sessions_(max_sessions) {
  env_.owner = this;
  env_.epoch->ref();
}

TcpListener::~TcpListener() { env_.epoch->unref(); }

void TcpListener::start() {
  accepting_ = true;
  acceptor_released_ = false;
  env_.loop->listen(acceptor_, fd_, this);
}

void TcpListener::update(const SessionEnv& env, uint32_t max_sessions) {
  env.epoch->ref();
  env_.epoch->unref();
  env_ = env;
  env_.owner = this;
  max_sessions_ = max_sessions;
  if (accepting_ && sessions_ < max_sessions_) {
    env_.loop->resumeAccept(acceptor_);
  }
}

void TcpListener::stopAccepting() {
  if (!accepting_) {
    return;
  }
  accepting_ = false;
  env_.loop->unwatch(acceptor_);
}

void TcpListener::onReleased(core::Watcher& /*w*/) { acceptor_released_ = true; }

void TcpListener::onAccept(core::Watcher& /*w*/, int fd) {
  if (!accepting_ || sessions_ >= max_sessions_) {
    // io_uring may hand over a connection accepted just before the pause took effect.
    core::LogLine(core::LogLevel::kWarn, "l4.over_limit").str("listener", env_.listener->name);
    ::close(fd);
    return;
  }
  ++accepted_;
  ++sessions_;
  TcpSession* s = pool_.acquire(env_, fd);
  s->live_index = static_cast<uint32_t>(live_.size());
  live_.push_back(s);
  if (sessions_ >= max_sessions_) {
    env_.loop->pauseAccept(acceptor_);
  }
  s->start();
}

void TcpListener::sessionEnded(TcpSession* s) {
  TcpSession* last = live_.back();
  live_[s->live_index] = last;
  last->live_index = s->live_index;
  live_.pop_back();
  pool_.release(s);
  --sessions_;
  if (accepting_ && sessions_ < max_sessions_) {
    env_.loop->resumeAccept(acceptor_);
  }
}

void TcpListener::abortSessions() {
  // abort() only schedules closes; sessions leave live_ later, from their release callbacks.
  const auto snapshot = live_;
  for (TcpSession* s : snapshot) {
    s->abort();
  }
}

}  // namespace ballast::l4
