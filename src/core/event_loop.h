// src/core/event_loop.h — one worker's event loop, with io_uring and epoll behind one
// completion-style interface: callers ask for an operation and hear back once it is done,
// whichever backend runs underneath. A loop and everything attached to it belong to one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/chunk_pool.h"
#include "core/timer_wheel.h"
#include "net/address.h"

namespace ballast::core {

enum class IoKind : uint8_t { kAuto, kIoUring, kEpoll };

class EventLoop;
class Stream;
class Watcher;

// Callbacks for one connected (or connecting) TCP socket. Never called re-entrantly from inside
// a loop call: the loop defers completions to the end of the current dispatch.
class StreamHandler {
 public:
  // connect() finished; err is 0 or an errno value.
  virtual void onConnect(Stream& s, int err) = 0;
  // `len` bytes arrived in chunk `id`, which the handler now owns and must hand back with
  // EventLoop::releaseChunk. After stopRecv a few chunks already read may still arrive.
  virtual void onRecv(Stream& s, ChunkId id, uint32_t len) = 0;
  // Receiving ended: err 0 is the peer's FIN, otherwise an errno (ECONNRESET for RST).
  virtual void onRecvEnd(Stream& s, int err) = 0;
  // The outstanding send() wrote `result` bytes (possibly fewer than asked) or failed (-errno).
  virtual void onSent(Stream& s, int64_t result) = 0;
  // After close(): no further callback will come and the Stream may be destroyed.
  virtual void onReleased(Stream& s) = 0;
  // Splice mode (EventLoop::spliceRecv): `len` bytes moved from the socket into the pipe. When
  // the pipe fills, reading pauses silently until startRecv is called again. The handler may end
  // splice mode from here (endSpliceRecv): the loop then reads into chunks again.
  virtual void onSpliced(Stream& /*s*/, uint32_t /*len*/) {}
  // Splice mode: how many more bytes may go from the socket into the pipe. A message of known
  // length (an HTTP body) must not take the bytes after it; 0 pauses reading as a full pipe
  // does. Asked before each splice.
  virtual uint64_t spliceLimit(Stream& /*s*/) { return UINT64_MAX; }

 protected:
  ~StreamHandler() = default;
};

// Loop-private state of one socket, embedded in its owner (no allocation per connection).
class Stream {
 public:
  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0 && (flags_ & kClosed) == 0; }
  bool sending() const { return (flags_ & kSendBusy) != 0; }

 private:
  friend class EventLoop;
  friend class EpollLoop;
  friend class UringLoop;
  enum : uint16_t {
    kClosed = 1U << 0,
    kRecvOn = 1U << 1,     // the owner wants data
    kRecvArmed = 1U << 2,  // io_uring: a multishot recv is outstanding
    kSendBusy = 1U << 3,
    kConnecting = 1U << 4,
    kReadable = 1U << 5,   // epoll: an edge said data (or EOF) may be waiting
    kWritable = 1U << 6,   // epoll
    kQueued = 1U << 7,     // on the deferred list
    kWantChunk = 1U << 8,  // waiting for a free chunk
    kDeferRead = 1U << 9,
    kDeferSent = 1U << 10,
    kDeferConnect = 1U << 11,
    kDeferRelease = 1U << 12,
    kPeerFin = 1U << 13,  // epoll: EPOLLRDHUP seen, so read on until recv() says 0
  };
  int fd_ = -1;
  uint16_t flags_ = 0;
  uint8_t inflight_ = 0;  // io_uring operations whose final completion has not come
  int connect_err_ = 0;
  int splice_in_ = -1;   // splice mode: the pipe's write end reads go to
  int splice_out_ = -1;  // sendFromPipe: the pipe's read end the send takes from
  StreamHandler* handler_ = nullptr;
  Stream* next_ = nullptr;       // deferred list link
  Stream* wait_next_ = nullptr;  // chunk-wait list link (a waiter may be deferred too)
  const uint8_t* send_ptr_ = nullptr;
  int64_t send_len_ = 0;  // epoll: bytes to send; after completion: the result
};

class WatchHandler {
 public:
  // The fd may be readable: read until EAGAIN.
  virtual void onReady(Watcher& /*w*/) {}
  // Acceptors: a new connection, non-blocking and close-on-exec; the handler owns the fd.
  // io_uring may still deliver connections its multishot accept took before a pauseAccept()
  // or unwatch() reached the kernel, up to onReleased(): the kernel has completed their
  // handshake, so closing them would reset a client that did nothing wrong.
  virtual void onAccept(Watcher& /*w*/, int /*fd*/) {}
  // Acceptors: accept(2) failed with `err` for want of resources (EMFILE, ENFILE, ENOBUFS,
  // ENOMEM) or unexpectedly; the loop stops accepting on `w` for `pause_ms` and resumes by
  // itself (see kAcceptBackoffFirstMs). For the owner's counter and (rate-limited) log line.
  virtual void onAcceptPaused(Watcher& /*w*/, int /*err*/, uint32_t /*pause_ms*/) {}
  // After unwatch(): no further callback; the fd is the owner's to close.
  virtual void onReleased(Watcher& /*w*/) {}

 protected:
  ~WatchHandler() = default;
};

// A readiness watch (UDP sockets, eventfd, signalfd) or a listening socket's acceptor.
class Watcher {
 public:
  Watcher() = default;
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;
  int fd() const { return fd_; }
  bool active() const { return fd_ >= 0 && !closed_; }

 private:
  friend class EventLoop;
  friend class EpollLoop;
  friend class UringLoop;
  int fd_ = -1;
  bool acceptor_ = false;
  bool paused_ = false;  // the owner's pauseAccept
  // The loop's own pause after a failed accept, kept apart from paused_ so that the owner's
  // resumeAccept (a session ended) does not cut the back-off short, nor its end undo a pause.
  bool backing_off_ = false;
  bool armed_ = false;  // io_uring: a multishot poll/accept is outstanding
  bool closed_ = false;
  bool queued_ = false;
  uint8_t inflight_ = 0;
  WatchHandler* handler_ = nullptr;
  Watcher* next_ = nullptr;
  uint32_t backoff_ms_ = 0;  // the last back-off; 0 again after a successful accept
  Timer backoff_timer_;
  EventLoop* loop_ = nullptr;  // for backoff_timer_'s callback
};

class EventLoop {
 public:
  // Builds the loop on the calling thread (io_uring rings belong to the thread that made them).
  // kAuto tries io_uring and falls back to epoll, saying why in *fallback_reason.
  // `chunk_count` must be a power of two (the io_uring buffer ring requires it); tests shrink it
  // to exercise exhaustion.
  static std::unique_ptr<EventLoop> create(IoKind kind, std::string* fallback_reason,
                                           uint32_t chunk_count = 0);
  virtual ~EventLoop() = default;

  virtual const char* name() const = 0;
  ChunkPool& chunks() { return *chunks_; }
  TimerWheel& timers() { return timers_; }
  uint64_t nowMs() const { return timers_.nowMs(); }

  // Streams. attach() takes ownership of `fd` (closed when the stream is released).
  virtual void attach(Stream& s, int fd, StreamHandler* handler) = 0;
  // `to` must stay valid until onConnect.
  virtual void connect(Stream& s, const net::SocketAddress& to) = 0;
  virtual void startRecv(Stream& s) = 0;
  virtual void stopRecv(Stream& s) = 0;
  // One send at a time per stream; `data` must stay valid until onSent.
  virtual void send(Stream& s, const uint8_t* data, uint32_t len) = 0;
  virtual void close(Stream& s) = 0;
  virtual void releaseChunk(ChunkId id) = 0;

  // Zero-copy relay through a pipe: bytes go socket → pipe → socket inside the kernel and
  // never touch a chunk. Only where canSplice() says so.
  virtual bool canSplice() const { return false; }
  // From now on reads of `s` splice into `pipe_w` and report through onSpliced, not onRecv.
  // On io_uring the multishot recv is cancelled first, and bytes it takes before the cancel
  // lands (even ones that arrive after this call) still come as onRecv, before any onSpliced:
  // the owner must take chunks until then, in order.
  virtual void spliceRecv(Stream& /*s*/, int /*pipe_w*/) {}
  // Undoes spliceRecv: reads of `s` go to chunks (onRecv) again. The loop forgets the pipe's
  // fd at once, whatever it still holds; the owner may close the pipe once no sendFromPipe of
  // it is in flight.
  virtual void endSpliceRecv(Stream& /*s*/) {}
  // Like send(), but writes up to `len` bytes waiting in the pipe `pipe_r`; ends in onSent.
  virtual void sendFromPipe(Stream& /*s*/, int /*pipe_r*/, uint32_t /*len*/) {}

  // Watchers. The fd stays the caller's.
  virtual void watch(Watcher& w, int fd, WatchHandler* handler) = 0;
  virtual void listen(Watcher& w, int fd, WatchHandler* handler) = 0;
  virtual void pauseAccept(Watcher& w) = 0;
  virtual void resumeAccept(Watcher& w) = 0;
  virtual void unwatch(Watcher& w) = 0;

  // Waits for events or the next timer (at most max_wait_ms), dispatches them, fires timers.
  virtual void runOnce(int max_wait_ms) = 0;

 protected:
  explicit EventLoop(uint32_t chunk_count);

  // Streams waiting for a free chunk (the pool ran dry), oldest last: both backends park a
  // reader here and wake it when chunks come back.
  static void waitForChunk(Stream& s, Stream*& list);
  // Unlinks a closing stream, which may be freed long before a chunk comes back.
  static void stopWaitingForChunk(Stream& s, Stream*& list);
  // Pops one waiter; nullptr when none.
  static Stream* nextChunkWaiter(Stream*& list);

  // Splice mode, the same syscalls on both backends: one non-blocking splice(2) from the
  // socket into its pipe (up to kSpliceBytes, and `limit`), or from the pipe to the socket (up to
  // send_len_), EINTR retried; the result as splice(2) gives it, errno set.
  static ssize_t spliceIntoPipe(Stream& s, uint64_t limit);
  static ssize_t spliceFromPipe(Stream& s);
  // After EAGAIN from spliceIntoPipe: the socket or the pipe? A pipe still holding bytes is
  // taken as full (its slots, not its bytes, may have run out); an empty one proves the
  // socket drained.
  static bool pipeDrained(int pipe_w);

  // Acceptors. accept(2) failed with `err` (not EAGAIN): false when the next connection may be
  // tried at once; true when the loop must stop accepting on `w` (the backend disarms it, then
  // tells the handler) until the back-off timer calls acceptBackoffEnded.
  bool backOffAccept(Watcher& w, int err);
  static void acceptSucceeded(Watcher& w) { w.backoff_ms_ = 0; }
  // unwatch(): a released watcher must not be re-armed by its timer.
  static void cancelAcceptBackoff(Watcher& w);
  // The back-off is over: accept again, unless the owner paused or unwatched meanwhile.
  virtual void acceptBackoffEnded(Watcher& w) = 0;

  std::unique_ptr<ChunkPool> chunks_;
  TimerWheel timers_;
};

}  // namespace ballast::core
