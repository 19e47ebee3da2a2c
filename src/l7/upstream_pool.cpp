// src/l7/upstream_pool.cpp — lending, returning and retiring upstream connections.
#include "l7/upstream_pool.h"

#include <cerrno>

#include "core/socket.h"

namespace ballast::l7 {
void UpstreamConn::onConnect(core::Stream& /*s*/, int err) {
  if (user_ != nullptr) {
    user_->onUpstreamConnect(err);
  }
}

void UpstreamConn::onRecv(core::Stream& /*s*/, core::ChunkId id, uint32_t len) {
  if (user_ != nullptr) {
    user_->onUpstreamData(id, len);
    return;
  }
  // Bytes from a server with no request outstanding: the connection is out of step, retire it.
  pool_.loop_.releaseChunk(id);
  pool_.removeIdle(this);
  pool_.loop_.close(stream_);
}

void UpstreamConn::onRecvEnd(core::Stream& /*s*/, int err) {
  if (user_ != nullptr) {
    user_->onUpstreamEnd(err);
    return;
  }
  pool_.removeIdle(this);  // the server closed an idle connection
  pool_.loop_.close(stream_);
}

void UpstreamConn::onSent(core::Stream& /*s*/, int64_t result) {
  if (user_ != nullptr) {
    user_->onUpstreamSent(result);
  }
}

void UpstreamConn::onReleased(core::Stream& /*s*/) { pool_.released(this); }

void UpstreamConn::onIdleTimer(void* self) {
  auto* c = static_cast<UpstreamConn*>(self);
  c->pool_.removeIdle(c);
  c->pool_.loop_.close(c->stream_);
}

UpstreamConn* UpstreamPool::takeIdle(const upstream::BackendStatePtr& backend, UpstreamUser* user) {
  auto it = idle_.find(backend.get());
  if (it == idle_.end() || it->second.empty()) {
    return nullptr;
  }
  UpstreamConn* c = it->second.back();  // most recently used: least likely to have timed out
  removeIdle(c);
  c->user_ = user;
  return c;
}

UpstreamConn* UpstreamPool::open(const upstream::BackendStatePtr& backend, UpstreamUser* user) {
  auto fd = core::openStreamSocket(backend->address);
  if (!fd) {
    errno = fd.error().sys_errno;
    return nullptr;
  }
  UpstreamConn* c = pool_.acquire(*this, backend);
  c->idle_timer_.bind(&UpstreamConn::onIdleTimer, c);
  c->user_ = user;
  loop_.attach(c->stream_, *fd, c);
  loop_.connect(c->stream_, backend->address);
  return c;
}

void UpstreamPool::giveBack(UpstreamConn* c, const config::UpstreamKeepalive& limits) {
  c->user_ = nullptr;
  ++c->requests_;
  auto& list = idle_[c->backend_.get()];
  if (c->requests_ >= limits.max_requests || list.size() >= limits.max_idle || !c->stream_.open()) {
    loop_.close(c->stream_);
    return;
  }
  c->idle_ = true;
  c->idle_index_ = static_cast<uint32_t>(list.size());
  list.push_back(c);
  loop_.timers().schedule(c->idle_timer_, static_cast<uint64_t>(limits.idle_timeout.count()));
  loop_.startRecv(c->stream_);  // hear the server's close while idle
}

void UpstreamPool::discard(UpstreamConn* c, core::ChunkQueue unsent) {
  c->user_ = nullptr;
  c->unsent_ = unsent;
  loop_.close(c->stream_);
}

void UpstreamPool::removeIdle(UpstreamConn* c) {
  if (!c->idle_) {
    return;
  }
  c->idle_ = false;
  core::TimerWheel::cancel(c->idle_timer_);
  auto& list = idle_[c->backend_.get()];
  UpstreamConn* last = list.back();
  list[c->idle_index_] = last;
  last->idle_index_ = c->idle_index_;
  list.pop_back();
}

void UpstreamPool::closeIdle() {
  std::vector<UpstreamConn*> all;
  for (auto& [backend, list] : idle_) {
    all.insert(all.end(), list.begin(), list.end());
  }
  for (UpstreamConn* c : all) {
    removeIdle(c);
    loop_.close(c->stream_);
  }
}

size_t UpstreamPool::idle() const {
  size_t n = 0;
  for (const auto& [backend, list] : idle_) {
    n += list.size();
  }
  return n;
}

void UpstreamPool::released(UpstreamConn* c) {
  removeIdle(c);
  c->unsent_.clear(loop_.chunks(), [this](core::ChunkId id) { loop_.releaseChunk(id); });
  pool_.release(c);
}

}  // namespace ballast::l7
