// src/core/event_loop.cpp — picks the I/O backend for a worker; what both backends share
// (chunk waiters, the acceptors' back-off).
#include "core/event_loop.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>

#include "core/accept_error.h"
#include "core/clock.h"
#include "core/epoll_loop.h"
#include "core/limits.h"
#include "core/uring_loop.h"

namespace ballast::core {

EventLoop::EventLoop(uint32_t chunk_count)
    : chunks_(std::make_unique<ChunkPool>(chunk_count, kChunkBytes)), timers_(monotonicMs()) {}

void EventLoop::waitForChunk(Stream& s, Stream*& list) {
  if ((s.flags_ & Stream::kWantChunk) == 0) {
    s.flags_ |= Stream::kWantChunk;
    s.wait_next_ = list;
    list = &s;
  }
}

void EventLoop::stopWaitingForChunk(Stream& s, Stream*& list) {
  if ((s.flags_ & Stream::kWantChunk) == 0) {
    return;
  }
  Stream** link = &list;
  while (*link != &s) {
    link = &(*link)->wait_next_;
  }
  *link = s.wait_next_;
  s.wait_next_ = nullptr;
  s.flags_ &= ~Stream::kWantChunk;
}

Stream* EventLoop::nextChunkWaiter(Stream*& list) {
  Stream* s = list;
  if (s != nullptr) {
    list = s->wait_next_;
    s->wait_next_ = nullptr;
    s->flags_ &= ~Stream::kWantChunk;
  }
  return s;
}

ssize_t EventLoop::spliceIntoPipe(Stream& s, uint64_t limit) {
  const auto most = static_cast<size_t>(std::min<uint64_t>(kSpliceBytes, limit));
  ssize_t n = 0;
  do {
    n = splice(s.fd_, nullptr, s.splice_in_, nullptr, most, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  } while (n < 0 && errno == EINTR);
  return n;
}

ssize_t EventLoop::spliceFromPipe(Stream& s) {
  // The socket is non-blocking and SIGPIPE ignored process-wide (splice has no MSG_NOSIGNAL).
  ssize_t n = 0;
  do {
    n = splice(s.splice_out_, nullptr, s.fd_, nullptr, static_cast<size_t>(s.send_len_),
               SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  } while (n < 0 && errno == EINTR);
  return n;
}

bool EventLoop::pipeDrained(int pipe_w) {
  int queued = 0;
  return ioctl(pipe_w, FIONREAD, &queued) != 0 || queued == 0;
}

bool EventLoop::backOffAccept(Watcher& w, int err) {
  if (acceptErrorIsTransient(err)) {
    return false;
  }
  w.backoff_ms_ =
      w.backoff_ms_ == 0 ? kAcceptBackoffFirstMs : std::min(w.backoff_ms_ * 2, kAcceptBackoffMaxMs);
  w.backing_off_ = true;
  w.loop_ = this;
  w.backoff_timer_.bind(
      [](void* ctx) {
        auto& watcher = *static_cast<Watcher*>(ctx);
        watcher.backing_off_ = false;
        watcher.loop_->acceptBackoffEnded(watcher);
      },
      &w);
  timers_.schedule(w.backoff_timer_, w.backoff_ms_);
  return true;
}

void EventLoop::cancelAcceptBackoff(Watcher& w) {
  TimerWheel::cancel(w.backoff_timer_);
  w.backing_off_ = false;
}

std::unique_ptr<EventLoop> EventLoop::create(IoKind kind, std::string* fallback_reason,
                                             uint32_t chunk_count) {
  if (chunk_count == 0) {
    chunk_count = kChunksPerWorker;
  }
  if (kind != IoKind::kEpoll) {
    std::string why;
    auto uring = UringLoop::tryCreate(&why, chunk_count);
    if (uring) {
      return uring;
    }
    if (kind == IoKind::kIoUring) {
      *fallback_reason = why;
      return nullptr;  // asked for explicitly: refusing beats silently running something else
    }
    *fallback_reason = why;
  }
  return std::make_unique<EpollLoop>(chunk_count);
}

}  // namespace ballast::core
