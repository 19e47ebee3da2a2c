// src/core/uring_loop.cpp — io_uring backend. user_data is the owner's address with the
// operation in its low three bits (Stream and Watcher are 8-byte aligned). An owner is released
// only after the final completion of every operation it had in flight, so a completion never
// names freed memory.
#include "core/uring_loop.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "core/limits.h"

namespace ballast::core {
namespace {
constexpr int kBufferGroup = 0;

}  // namespace

std::unique_ptr<UringLoop> UringLoop::tryCreate(std::string* why, uint32_t chunk_count) {
  // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): the constructor is private
  std::unique_ptr<UringLoop> loop(new UringLoop(chunk_count));
  io_uring_params params{};
  // One thread submits and reaps, so the kernel may defer task work to our wait: fewer
  // interrupts, bigger batches.
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int rc = io_uring_queue_init_params(kRingEntries, &loop->ring_, &params);
  if (rc == -EINVAL) {
    params = io_uring_params{};
    rc = io_uring_queue_init_params(kRingEntries, &loop->ring_, &params);
  }
  if (rc < 0) {
    *why = std::string("io_uring_queue_init: ") + strerror(-rc);
    return nullptr;
  }
  loop->ring_ready_ = true;
  // The kernel takes buffers from the ring in FIFO order, which would touch every chunk of the
  // pool in turn. So the ring holds only a few, refilled from the pool's LIFO free list as they
  // are used: recently released (cache- and RSS-warm) chunks are reused first, as with epoll.
  const uint32_t entries = std::min(chunk_count, kRingBuffers);  // a power of two, as required
  loop->ring_entries_ = entries;
  loop->buf_ring_bytes_ = sizeof(io_uring_buf) * entries;
  void* mem = mmap(nullptr, loop->buf_ring_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    *why = "mmap for the provided-buffer ring failed";
    return nullptr;
  }
  loop->buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(loop->buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = entries;
  reg.bgid = kBufferGroup;
  rc = io_uring_register_buf_ring(&loop->ring_, &reg, 0);
  if (rc < 0) {
    *why = std::string("io_uring_register_buf_ring: ") + strerror(-rc);
    return nullptr;
  }
  loop->refillRing();
  return loop;
}

UringLoop::~UringLoop() {
  if (ring_ready_) {
    io_uring_queue_exit(&ring_);
  }
  if (buf_ring_ != nullptr) {
    munmap(buf_ring_, buf_ring_bytes_);
  }
}

io_uring_sqe* UringLoop::sqe() {
  io_uring_sqe* e = io_uring_get_sqe(&ring_);
  while (e == nullptr) {
    io_uring_submit(&ring_);  // the queue is full: flush this turn's batch early
    e = io_uring_get_sqe(&ring_);
  }
  return e;
}

void UringLoop::attach(Stream& s, int fd, StreamHandler* handler) {
  s.fd_ = fd;
  s.flags_ = 0;
  s.inflight_ = 0;
  s.handler_ = handler;
  s.next_ = nullptr;
  s.splice_in_ = s.splice_out_ = -1;
}

void UringLoop::connect(Stream& s, const net::SocketAddress& to) {
  io_uring_sqe* e = sqe();
  io_uring_prep_connect(e, s.fd_, to.sockaddrPtr(), to.length());
  io_uring_sqe_set_data64(e, reinterpret_cast<uint64_t>(&s) | kOpConnect);
  s.flags_ |= Stream::kConnecting;
  ++s.inflight_;
}

void UringLoop::armRecv(Stream& s) {
  if (s.splice_in_ >= 0) {
    armSplicePoll(s);
    return;
  }
  io_uring_sqe* e = sqe();
  io_uring_prep_recv_multishot(e, s.fd_, nullptr, 0, 0);
  e->flags |= IOSQE_BUFFER_SELECT;
  e->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(e, reinterpret_cast<uint64_t>(&s) | kOpRecv);
  s.flags_ |= Stream::kRecvArmed;
  ++s.inflight_;
}

void UringLoop::startRecv(Stream& s) {
  s.flags_ |= Stream::kRecvOn;
  if ((s.flags_ & (Stream::kRecvArmed | Stream::kWantChunk | Stream::kClosed)) == 0) {
    armRecv(s);
  }
}

void UringLoop::cancel(uint64_t user_data) {
  io_uring_sqe* e = sqe();
  io_uring_prep_cancel64(e, user_data, 0);
  io_uring_sqe_set_data64(e, kOpIgnore);
}

void UringLoop::stopRecv(Stream& s) {
  if ((s.flags_ & Stream::kRecvOn) == 0) {
    return;
  }
  s.flags_ &= ~Stream::kRecvOn;
  if ((s.flags_ & Stream::kRecvArmed) != 0) {
    // Whichever is armed; cancelling the other matches nothing.
    cancel(reinterpret_cast<uint64_t>(&s) | kOpRecv);
    cancel(reinterpret_cast<uint64_t>(&s) | kOpSplicePoll);
  }
}

void UringLoop::spliceRecv(Stream& s, int pipe_w) {
  s.splice_in_ = pipe_w;
  if ((s.flags_ & Stream::kWantChunk) != 0) {
    // Waiting for a chunk it no longer needs: the splice path reads into the pipe.
    stopWaitingForChunk(s, chunk_waiters_);
    if ((s.flags_ & (Stream::kRecvOn | Stream::kRecvArmed | Stream::kClosed)) == Stream::kRecvOn) {
      armRecv(s);
    }
    return;
  }
  if ((s.flags_ & Stream::kRecvArmed) != 0) {
    // The multishot recv ends first: its last chunks reach the owner before any spliced byte,
    // and its final completion arms the poll (armRecv) while kRecvOn holds.
    cancel(reinterpret_cast<uint64_t>(&s) | kOpRecv);
  }
}

// A splice poll may stay armed: it carries no pipe fd, and when it answers onSplicePoll, seeing
// no pipe, arms the multishot recv instead (the bytes wait in the socket meanwhile).
void UringLoop::endSpliceRecv(Stream& s) { s.splice_in_ = -1; }

void UringLoop::armSplicePoll(Stream& s) {
  io_uring_sqe* e = sqe();
  io_uring_prep_poll_add(e, s.fd_, POLLIN | POLLRDHUP);
  io_uring_sqe_set_data64(e, reinterpret_cast<uint64_t>(&s) | kOpSplicePoll);
  s.flags_ |= Stream::kRecvArmed;
  ++s.inflight_;
}

void UringLoop::onSplicePoll(Stream& s) {
  if (s.splice_in_ < 0) {
    // The owner ended splice mode while this poll was armed (endSpliceRecv): recv again.
    if ((s.flags_ & (Stream::kRecvOn | Stream::kRecvArmed | Stream::kClosed)) == Stream::kRecvOn) {
      armRecv(s);
    }
    return;
  }
  for (uint32_t i = 0; i < kMaxReadsPerTurn; ++i) {
    if ((s.flags_ & (Stream::kRecvOn | Stream::kClosed)) != Stream::kRecvOn) {
      return;  // stopped or closed by the owner meanwhile; startRecv polls again
    }
    if (s.splice_in_ < 0) {
      // The owner ended splice mode in onSpliced (a body of known length is in): back to the
      // multishot recv, unless its startRecv armed it already.
      if ((s.flags_ & Stream::kRecvArmed) == 0) {
        armRecv(s);
      }
      return;
    }
    const uint64_t limit = s.handler_->spliceLimit(s);
    if (limit == 0) {
      return;  // as a full pipe: nothing more may be read until the owner says
    }
    const ssize_t n = spliceIntoPipe(s, limit);
    if (n > 0) {
      s.handler_->onSpliced(s, static_cast<uint32_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // A full pipe: the owner's startRecv once it drained polls again. A drained socket:
      // wait for more.
      if (pipeDrained(s.splice_in_)) {
        armSplicePoll(s);
      }
      return;
    }
    s.flags_ &= ~Stream::kRecvOn;
    s.handler_->onRecvEnd(s, n == 0 ? 0 : errno);
    return;
  }
  armSplicePoll(s);  // fairness: more may wait; the poll answers at once if so
}

void UringLoop::sendFromPipe(Stream& s, int pipe_r, uint32_t len) {
  s.flags_ |= Stream::kSendBusy;
  s.send_ptr_ = nullptr;
  s.splice_out_ = pipe_r;
  s.send_len_ = len;
  if (spliceOut(s)) {
    // Done at once, but the owner hears of it through a completion, never from inside this
    // call: a nop carries it (the result waits in send_len_, kDeferSent marks it).
    s.flags_ |= Stream::kDeferSent;
    io_uring_sqe* e = sqe();
    io_uring_prep_nop(e);
    io_uring_sqe_set_data64(e, reinterpret_cast<uint64_t>(&s) | kOpPipeSend);
    ++s.inflight_;
  }
}

bool UringLoop::spliceOut(Stream& s) {
  const ssize_t n = spliceFromPipe(s);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    io_uring_sqe* e = sqe();
    io_uring_prep_poll_add(e, s.fd_, POLLOUT);
    io_uring_sqe_set_data64(e, reinterpret_cast<uint64_t>(&s) | kOpPipeSend);
    ++s.inflight_;
    return false;
  }
  s.send_len_ = n >= 0 ? n : -errno;
  return true;
}

void UringLoop::onPipeSend(Stream& s) {
  if ((s.flags_ & Stream::kDeferSent) == 0 && !spliceOut(s)) {
    return;  // still full: polled again
  }
  s.flags_ &= ~(Stream::kDeferSent | Stream::kSendBusy);
  s.handler_->onSent(s, s.send_len_);
}

void UringLoop::send(Stream& s, const uint8_t* data, uint32_t len) {
  io_uring_sqe* e = sqe();
  io_uring_prep_send(e, s.fd_, data, len, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(e, reinterpret_cast<uint64_t>(&s) | kOpSend);
  s.flags_ |= Stream::kSendBusy;
  ++s.inflight_;
}

void UringLoop::close(Stream& s) {
  if ((s.flags_ & Stream::kClosed) != 0) {
    return;
  }
  s.flags_ |= Stream::kClosed;
  stopWaitingForChunk(s, chunk_waiters_);
  s.flags_ &= ~Stream::kRecvOn;
  if (s.inflight_ > 0) {
    io_uring_sqe* e = sqe();
    io_uring_prep_cancel_fd(e, s.fd_, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(e, kOpIgnore);
    return;  // released when the last completion arrives
  }
  streamOpDone(s);
}

void UringLoop::streamOpDone(Stream& s) {
  if ((s.flags_ & Stream::kClosed) == 0 || s.inflight_ > 0 ||
      (s.flags_ & Stream::kDeferRelease) != 0) {
    return;
  }
  s.flags_ |= Stream::kDeferRelease;
  s.next_ = deferred_;
  deferred_ = &s;
}

void UringLoop::refillRing() {
  int added = 0;
  const int mask = io_uring_buf_ring_mask(ring_entries_);
  while (ring_count_ < ring_entries_) {
    const ChunkId id = chunks_->take();
    if (id == kNoChunk) {
      break;
    }
    io_uring_buf_ring_add(buf_ring_, chunks_->data(id), chunks_->chunkBytes(), id, mask, added);
    ++added;
    ++ring_count_;
  }
  if (added > 0) {
    io_uring_buf_ring_advance(buf_ring_, added);
    // Streams whose multishot recv ended on an empty ring may receive again.
    wakeChunkWaiters();
  }
}

void UringLoop::releaseChunk(ChunkId id) {
  chunks_->put(id);
  refillRing();
}

void UringLoop::wakeChunkWaiters() {
  while (Stream* s = nextChunkWaiter(chunk_waiters_)) {
    if ((s->flags_ & (Stream::kRecvOn | Stream::kClosed | Stream::kRecvArmed)) == Stream::kRecvOn) {
      armRecv(*s);
    }
  }
}

void UringLoop::onStreamCqe(Stream& s, Op op, const io_uring_cqe& cqe) {
  const bool closed = (s.flags_ & Stream::kClosed) != 0;
  switch (op) {
    case kOpRecv: {
      const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
      if (cqe.res > 0) {
        const auto id = static_cast<ChunkId>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
        --ring_count_;  // the kernel took it from the ring
        refillRing();
        if (closed) {
          releaseChunk(id);
        } else {
          s.handler_->onRecv(s, id, static_cast<uint32_t>(cqe.res));
        }
      }
      if (more) {
        return;
      }
      s.flags_ &= ~Stream::kRecvArmed;
      --s.inflight_;
      if ((s.flags_ & Stream::kClosed) != 0) {
        break;
      }
      if (cqe.res == 0) {
        s.flags_ &= ~Stream::kRecvOn;
        s.handler_->onRecvEnd(s, 0);
      } else if (cqe.res == -ENOBUFS && ring_count_ == 0 && s.splice_in_ < 0) {
        // Every chunk is out: wait for one to come back instead of spinning.
        waitForChunk(s, chunk_waiters_);
      } else if (cqe.res == -ENOBUFS) {
        // The ring was empty when the kernel looked, but a completion earlier in this batch has
        // refilled it, and that refill woke only the streams already waiting. Waiting now would
        // wait for a chunk that may never come back: every chunk may be in the ring already
        // (all sent), and the stream would stall with data in its socket. A stream moving to
        // splice needs no chunk at all: armRecv arms its poll.
        if ((s.flags_ & Stream::kRecvOn) != 0) {
          armRecv(s);
        }
      } else if (cqe.res < 0 && cqe.res != -ECANCELED) {
        s.flags_ &= ~Stream::kRecvOn;
        s.handler_->onRecvEnd(s, -cqe.res);
      } else if ((s.flags_ & Stream::kRecvOn) != 0) {
        armRecv(s);  // the multishot ended (cancelled then restarted, or the kernel stopped it)
      }
      break;
    }
    case kOpSend:
      --s.inflight_;
      s.flags_ &= ~Stream::kSendBusy;
      if (!closed) {
        s.handler_->onSent(s, cqe.res);
      }
      break;
    case kOpSplicePoll:
      --s.inflight_;
      s.flags_ &= ~Stream::kRecvArmed;
      if (!closed) {
        onSplicePoll(s);
      }
      break;
    case kOpPipeSend:
      --s.inflight_;
      if (closed) {
        s.flags_ &= ~(Stream::kDeferSent | Stream::kSendBusy);
      } else {
        onPipeSend(s);
      }
      break;
    case kOpConnect:
      --s.inflight_;
      s.flags_ &= ~Stream::kConnecting;
      if (!closed) {
        s.handler_->onConnect(s, cqe.res < 0 ? -cqe.res : 0);
      }
      break;
    default:
      break;
  }
  streamOpDone(s);
}

void UringLoop::armWatcher(Watcher& w) {
  io_uring_sqe* e = sqe();
  if (w.acceptor_) {
    io_uring_prep_multishot_accept(e, w.fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(e, reinterpret_cast<uint64_t>(&w) | kOpAccept);
  } else {
    io_uring_prep_poll_multishot(e, w.fd_, POLLIN);
    io_uring_sqe_set_data64(e, reinterpret_cast<uint64_t>(&w) | kOpPoll);
  }
  w.armed_ = true;
  ++w.inflight_;
}

void UringLoop::watch(Watcher& w, int fd, WatchHandler* handler) {
  w.fd_ = fd;
  w.handler_ = handler;
  w.closed_ = false;
  w.paused_ = false;
  w.backing_off_ = false;
  w.backoff_ms_ = 0;
  armWatcher(w);
}

void UringLoop::listen(Watcher& w, int fd, WatchHandler* handler) {
  w.acceptor_ = true;
  watch(w, fd, handler);
}

void UringLoop::pauseAccept(Watcher& w) {
  if (w.paused_ || w.closed_) {
    return;
  }
  w.paused_ = true;
  if (w.armed_) {
    cancel(reinterpret_cast<uint64_t>(&w) | kOpAccept);
  }
}

void UringLoop::resumeAccept(Watcher& w) {
  if (!w.paused_ || w.closed_) {
    return;
  }
  w.paused_ = false;
  if (!w.armed_ && !w.backing_off_) {
    armWatcher(w);
  }
}

void UringLoop::acceptBackoffEnded(Watcher& w) {
  if (!w.paused_ && !w.closed_ && !w.armed_) {
    armWatcher(w);
  }
}

void UringLoop::unwatch(Watcher& w) {
  if (w.closed_) {
    return;
  }
  w.closed_ = true;
  cancelAcceptBackoff(w);
  if (w.armed_) {
    cancel(reinterpret_cast<uint64_t>(&w) | (w.acceptor_ ? kOpAccept : kOpPoll));
  }
  watcherOpDone(w);
}

void UringLoop::watcherOpDone(Watcher& w) {
  if (!w.closed_ || w.inflight_ > 0 || w.queued_) {
    return;
  }
  w.queued_ = true;
  w.next_ = released_watchers_;
  released_watchers_ = &w;
}

void UringLoop::onWatcherCqe(Watcher& w, Op op, const io_uring_cqe& cqe) {
  const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (op == kOpAccept && cqe.res >= 0) {
    // Even after a pause or unwatch: the accept completed in the kernel before the cancel
    // did, so the handler serves the connection (or refuses it in its own words). Closing it
    // here reset clients during a binary upgrade (#13).
    acceptSucceeded(w);
    w.handler_->onAccept(w, cqe.res);
  } else if (op == kOpPoll && cqe.res >= 0 && !w.closed_) {
    w.handler_->onReady(w);
  }
  if (!more) {
    w.armed_ = false;
    --w.inflight_;
    // Any error ends a multishot accept. One connection's (ECONNABORTED) re-arms at once; for
    // want of resources (EMFILE) the connection stays queued and a re-armed accept would fail
    // again at once, round and round through the ring, so that backs off first.
    const int err = cqe.res < 0 ? -cqe.res : 0;
    const bool back_off =
        op == kOpAccept && err != 0 && err != ECANCELED && !w.closed_ && backOffAccept(w, err);
    if (!w.closed_ && !w.paused_ && !w.backing_off_) {
      armWatcher(w);
    }
    if (back_off) {
      w.handler_->onAcceptPaused(w, err, w.backoff_ms_);
    }
  }
  watcherOpDone(w);
}

void UringLoop::runDeferred() {
  while (deferred_ != nullptr || released_watchers_ != nullptr) {
    while (deferred_ != nullptr) {
      Stream& s = *deferred_;
      deferred_ = s.next_;
      s.next_ = nullptr;
      s.flags_ = 0;
      ::close(s.fd_);
      s.fd_ = -1;
      s.handler_->onReleased(s);  // may destroy s
    }
    while (released_watchers_ != nullptr) {
      Watcher* w = released_watchers_;
      released_watchers_ = w->next_;
      w->next_ = nullptr;
      w->queued_ = false;
      w->fd_ = -1;
      w->handler_->onReleased(*w);
    }
  }
}

void UringLoop::runOnce(int max_wait_ms) {
  int wait_ms = timers_.nextTimeoutMs(monotonicMs());
  if (deferred_ != nullptr || released_watchers_ != nullptr) {
    wait_ms = 0;
  } else if (max_wait_ms >= 0 && (wait_ms < 0 || wait_ms > max_wait_ms)) {
    wait_ms = max_wait_ms;
  }
  __kernel_timespec ts{};
  ts.tv_sec = wait_ms / static_cast<int>(kMsPerSecond);
  ts.tv_nsec = static_cast<long long>(wait_ms % static_cast<int>(kMsPerSecond)) *
               static_cast<long long>(kNsPerMs);
  io_uring_cqe* first = nullptr;
  // One syscall submits everything queued this turn and waits for the next completion.
  io_uring_submit_and_wait_timeout(&ring_, &first, 1, wait_ms < 0 ? nullptr : &ts, nullptr);
  timers_.advance(monotonicMs());
  unsigned head = 0;
  unsigned seen = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    const uint64_t data = io_uring_cqe_get_data64(cqe);
    const auto op = static_cast<Op>(data & kOpMask);
    const uint64_t ptr = data & ~kOpMask;
    if (op == kOpIgnore || ptr == 0) {
      continue;
    }
    if (op == kOpPoll || op == kOpAccept) {
      onWatcherCqe(*reinterpret_cast<Watcher*>(ptr), op, *cqe);
    } else {
      onStreamCqe(*reinterpret_cast<Stream*>(ptr), op, *cqe);
    }
  }
  io_uring_cq_advance(&ring_, seen);
  runDeferred();
}

}  // namespace ballast::core
