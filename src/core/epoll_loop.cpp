// src/core/epoll_loop.cpp — epoll backend. Every completion is delivered from runDeferred(),
// after the kernel's batch has been dispatched, so no callback ever runs inside a loop call.
#include "core/epoll_loop.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>

#include "core/clock.h"
#include "core/limits.h"

namespace ballast::core {

EpollLoop::EpollLoop(uint32_t chunk_count)
    : EventLoop(chunk_count), epfd_(epoll_create1(EPOLL_CLOEXEC)) {
  if (!epfd_.valid()) {
    abort();  // start-up only; epoll is the backend of last resort
  }
}

void EpollLoop::attach(Stream& s, int fd, StreamHandler* handler) {
  s.fd_ = fd;
  s.flags_ = 0;
  s.handler_ = handler;
  s.next_ = nullptr;
  s.splice_in_ = s.splice_out_ = -1;
  epoll_event ev{};
  // Edge-triggered on both directions: one registration for the stream's life.
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &s;
  if (epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    s.connect_err_ = errno;
  }
}

void EpollLoop::defer(Stream& s, uint16_t what) {
  s.flags_ |= what;
  if ((s.flags_ & Stream::kQueued) != 0) {
    return;
  }
  s.flags_ |= Stream::kQueued;
  s.next_ = nullptr;
  if (deferred_tail_ == nullptr) {
    deferred_head_ = deferred_tail_ = &s;
  } else {
    deferred_tail_->next_ = &s;
    deferred_tail_ = &s;
  }
}

void EpollLoop::connect(Stream& s, const net::SocketAddress& to) {
  if (::connect(s.fd_, to.sockaddrPtr(), to.length()) == 0) {
    s.connect_err_ = 0;
    defer(s, Stream::kDeferConnect);
  } else if (errno == EINPROGRESS) {
    s.flags_ |= Stream::kConnecting;
  } else {
    s.connect_err_ = errno;
    defer(s, Stream::kDeferConnect);
  }
}

void EpollLoop::finishConnect(Stream& s) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(s.fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
    err = errno;
  }
  s.flags_ &= ~Stream::kConnecting;
  s.connect_err_ = err;
  defer(s, Stream::kDeferConnect);
}

void EpollLoop::startRecv(Stream& s) {
  s.flags_ |= Stream::kRecvOn;
  if ((s.flags_ & Stream::kReadable) != 0) {
    defer(s, Stream::kDeferRead);
  }
}

void EpollLoop::stopRecv(Stream& s) { s.flags_ &= ~Stream::kRecvOn; }

void EpollLoop::send(Stream& s, const uint8_t* data, uint32_t len) {
  s.flags_ |= Stream::kSendBusy;
  s.send_ptr_ = data;
  s.splice_out_ = -1;
  s.send_len_ = len;
  trySend(s);
}

void EpollLoop::sendFromPipe(Stream& s, int pipe_r, uint32_t len) {
  s.flags_ |= Stream::kSendBusy;
  s.send_ptr_ = nullptr;
  s.splice_out_ = pipe_r;
  s.send_len_ = len;
  trySend(s);
}

void EpollLoop::spliceRecv(Stream& s, int pipe_w) {
  s.splice_in_ = pipe_w;
  if ((s.flags_ & (Stream::kRecvOn | Stream::kReadable)) == (Stream::kRecvOn | Stream::kReadable)) {
    defer(s, Stream::kDeferRead);
  }
}

// Nothing else to undo: splice mode is only which call readSome makes. A read already deferred
// (an edge that came with the pipe empty) recv()s into a chunk instead.
void EpollLoop::endSpliceRecv(Stream& s) { s.splice_in_ = -1; }

void EpollLoop::trySend(Stream& s) {
  ssize_t n = 0;
  if (s.splice_out_ >= 0) {
    n = spliceFromPipe(s);  // the pipe holds send_len_ bytes: EAGAIN means a full socket
  } else {
    n = ::send(s.fd_, s.send_ptr_, static_cast<size_t>(s.send_len_), MSG_NOSIGNAL);
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    s.flags_ &= ~Stream::kWritable;  // EPOLLOUT's next edge retries
    return;
  }
  s.send_len_ = n >= 0 ? n : -errno;
  defer(s, Stream::kDeferSent);
}

void EpollLoop::close(Stream& s) {
  if ((s.flags_ & Stream::kClosed) != 0) {
    return;
  }
  s.flags_ |= Stream::kClosed;
  stopWaitingForChunk(s, chunk_waiters_);
  s.flags_ &= ~(Stream::kRecvOn | Stream::kDeferRead | Stream::kDeferSent | Stream::kDeferConnect);
  defer(s, Stream::kDeferRelease);
}

void EpollLoop::releaseChunk(ChunkId id) {
  chunks_->put(id);
  // Streams that stalled on an empty pool resume now, oldest first.
  while (chunk_waiters_ != nullptr && chunks_->freeCount() > 0) {
    Stream* s = nextChunkWaiter(chunk_waiters_);
    if ((s->flags_ & Stream::kClosed) == 0) {
      defer(*s, Stream::kDeferRead);
    }
  }
}

bool EpollLoop::spliceSome(Stream& s) {
  const uint64_t limit = s.handler_->spliceLimit(s);
  if (limit == 0) {
    return false;  // as a full pipe: the edge stays for whoever reads next
  }
  const ssize_t n = spliceIntoPipe(s, limit);
  if (n > 0) {
    // Short or not, keep reading: only EAGAIN proves the socket drained. If the handler ended
    // splice mode meanwhile, readSome goes on into chunks.
    s.handler_->onSpliced(s, static_cast<uint32_t>(n));
    return true;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    // A full pipe keeps the edge: the owner's startRecv after the pipe drained retries.
    if (pipeDrained(s.splice_in_)) {
      s.flags_ &= ~Stream::kReadable;
    }
    return false;
  }
  const int err = n == 0 ? 0 : errno;
  s.flags_ &= ~(Stream::kRecvOn | Stream::kReadable);
  s.handler_->onRecvEnd(s, err);
  return false;
}

void EpollLoop::readSome(Stream& s) {
  for (uint32_t i = 0; i < kMaxReadsPerTurn; ++i) {
    if ((s.flags_ & (Stream::kRecvOn | Stream::kClosed)) != Stream::kRecvOn ||
        (s.flags_ & Stream::kReadable) == 0) {
      return;
    }
    if (s.splice_in_ >= 0) {
      if (!spliceSome(s)) {
        return;
      }
      continue;
    }
    const ChunkId id = chunks_->take();
    if (id == kNoChunk) {
      waitForChunk(s, chunk_waiters_);
      return;
    }
    const ssize_t n = ::recv(s.fd_, chunks_->data(id), chunks_->chunkBytes(), 0);
    if (n > 0) {
      if (static_cast<uint32_t>(n) < chunks_->chunkBytes() && (s.flags_ & Stream::kPeerFin) == 0) {
        // A short read drained the socket; the next arrival raises a new edge. Not so after
        // EPOLLRDHUP: the FIN came with that edge and only a further recv() reports it.
        s.flags_ &= ~Stream::kReadable;
      }
      s.handler_->onRecv(s, id, static_cast<uint32_t>(n));
      continue;
    }
    chunks_->put(id);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      s.flags_ &= ~Stream::kReadable;
      return;
    }
    s.flags_ &= ~(Stream::kRecvOn | Stream::kReadable);
    s.handler_->onRecvEnd(s, n == 0 ? 0 : errno);
    return;
  }
  defer(s, Stream::kDeferRead);  // fairness: come back after the others had a turn
}

void EpollLoop::onStreamEvent(Stream& s, uint32_t events) {
  if ((s.flags_ & Stream::kClosed) != 0) {
    return;
  }
  if ((events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) {
    s.flags_ |= Stream::kPeerFin;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) {
    s.flags_ |= Stream::kReadable;
    if ((s.flags_ & Stream::kRecvOn) != 0) {
      defer(s, Stream::kDeferRead);
    }
  }
  if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
    s.flags_ |= Stream::kWritable;
    if ((s.flags_ & Stream::kConnecting) != 0) {
      finishConnect(s);
    } else if ((s.flags_ & Stream::kSendBusy) != 0 && (s.flags_ & Stream::kDeferSent) == 0) {
      trySend(s);
    }
  }
}

void EpollLoop::runDeferred() {
  while (deferred_head_ != nullptr) {
    Stream& s = *deferred_head_;
    deferred_head_ = s.next_;
    if (deferred_head_ == nullptr) {
      deferred_tail_ = nullptr;
    }
    s.next_ = nullptr;
    s.flags_ &= ~Stream::kQueued;
    if ((s.flags_ & Stream::kDeferRelease) != 0) {
      s.flags_ = 0;
      s.splice_in_ = s.splice_out_ = -1;
      ::close(s.fd_);  // also drops the epoll registration
      s.fd_ = -1;
      s.handler_->onReleased(s);  // may destroy s
      continue;
    }
    if ((s.flags_ & Stream::kDeferConnect) != 0) {
      s.flags_ &= ~Stream::kDeferConnect;
      s.handler_->onConnect(s, s.connect_err_);
    }
    if ((s.flags_ & Stream::kDeferSent) != 0 && (s.flags_ & Stream::kClosed) == 0) {
      s.flags_ &= ~(Stream::kDeferSent | Stream::kSendBusy);
      s.handler_->onSent(s, s.send_len_);
    }
    if ((s.flags_ & Stream::kDeferRead) != 0 && (s.flags_ & Stream::kClosed) == 0) {
      s.flags_ &= ~Stream::kDeferRead;
      readSome(s);
    }
  }
  while (released_watchers_ != nullptr) {
    Watcher* w = released_watchers_;
    released_watchers_ = w->next_;
    w->next_ = nullptr;
    w->fd_ = -1;
    w->handler_->onReleased(*w);
  }
}

void EpollLoop::watch(Watcher& w, int fd, WatchHandler* handler) {
  w.fd_ = fd;
  w.handler_ = handler;
  w.closed_ = false;
  w.paused_ = false;
  w.backing_off_ = false;
  w.backoff_ms_ = 0;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = reinterpret_cast<uint64_t>(&w) | kWatcherTag;
  epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev);
}

void EpollLoop::setWatcherEvents(Watcher& w, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = reinterpret_cast<uint64_t>(&w) | kWatcherTag;
  epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, w.fd_, &ev);
}

void EpollLoop::listen(Watcher& w, int fd, WatchHandler* handler) {
  w.acceptor_ = true;
  watch(w, fd, handler);
}

// A listener is registered with no events while either pause holds, EPOLLIN otherwise.
void EpollLoop::pauseAccept(Watcher& w) {
  if (w.paused_ || w.closed_) {
    return;
  }
  w.paused_ = true;
  if (!w.backing_off_) {
    setWatcherEvents(w, 0);
  }
}

void EpollLoop::resumeAccept(Watcher& w) {
  if (!w.paused_ || w.closed_) {
    return;
  }
  w.paused_ = false;
  if (!w.backing_off_) {
    setWatcherEvents(w, EPOLLIN);
  }
}

void EpollLoop::acceptBackoffEnded(Watcher& w) {
  if (!w.paused_ && !w.closed_) {
    setWatcherEvents(w, EPOLLIN);
  }
}

void EpollLoop::unwatch(Watcher& w) {
  if (w.closed_) {
    return;
  }
  w.closed_ = true;
  cancelAcceptBackoff(w);
  epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, w.fd_, nullptr);
  w.next_ = released_watchers_;
  released_watchers_ = &w;
}

void EpollLoop::onWatcherEvent(Watcher& w) {
  if (w.closed_) {
    return;
  }
  if (!w.acceptor_) {
    w.handler_->onReady(w);
    return;
  }
  // Level-triggered: whatever this turn leaves in the backlog raises the event again.
  for (uint32_t i = 0; i < kMaxReadsPerTurn && !w.closed_ && !w.paused_; ++i) {
    const int fd = accept4(w.fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      acceptSucceeded(w);
      w.handler_->onAccept(w, fd);
      continue;
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || !backOffAccept(w, err)) {
      return;  // drained, or one connection's failure: the next event retries at once
    }
    // The connection stays queued, so the level-triggered event would fire again at once.
    if (!w.paused_) {
      setWatcherEvents(w, 0);
    }
    w.handler_->onAcceptPaused(w, err, w.backoff_ms_);
    return;
  }
}

void EpollLoop::runOnce(int max_wait_ms) {
  int wait_ms = timers_.nextTimeoutMs(monotonicMs());
  if (deferred_head_ != nullptr || released_watchers_ != nullptr) {
    wait_ms = 0;
  } else if (max_wait_ms >= 0 && (wait_ms < 0 || wait_ms > max_wait_ms)) {
    wait_ms = max_wait_ms;
  }
  const int n = epoll_wait(epfd_.get(), events_.data(), kMaxEvents, wait_ms);
  timers_.advance(monotonicMs());  // keep nowMs() fresh for the callbacks below
  for (int i = 0; i < n; ++i) {
    const uint64_t tag = events_[i].data.u64;
    if ((tag & kWatcherTag) != 0) {
      onWatcherEvent(*reinterpret_cast<Watcher*>(tag & ~kWatcherTag));
    } else {
      onStreamEvent(*static_cast<Stream*>(events_[i].data.ptr), events_[i].events);
    }
  }
  // Only now, with the whole batch dispatched, may streams be released: a later event of the
  // same batch could still name one.
  runDeferred();
}

}  // namespace ballast::core
