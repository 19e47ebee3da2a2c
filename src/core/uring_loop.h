// src/core/uring_loop.h — the io_uring backend: multishot accept, multishot recv into a
// provided-buffer ring, one batched submission per loop turn.
#pragma once

#include <liburing.h>

#include <string>

#include "core/event_loop.h"

namespace ballast::core {

class UringLoop final : public EventLoop {
 public:
  // Returns nullptr (and why) when the kernel or a sandbox refuses io_uring.
  static std::unique_ptr<UringLoop> tryCreate(std::string* why, uint32_t chunk_count);
  ~UringLoop() override;
  const char* name() const override { return "io_uring"; }

  void attach(Stream& s, int fd, StreamHandler* handler) override;
  void connect(Stream& s, const net::SocketAddress& to) override;
  void startRecv(Stream& s) override;
  void stopRecv(Stream& s) override;
  void send(Stream& s, const uint8_t* data, uint32_t len) override;
  void close(Stream& s) override;
  void releaseChunk(ChunkId id) override;
  bool canSplice() const override { return true; }
  void spliceRecv(Stream& s, int pipe_w) override;
  void endSpliceRecv(Stream& s) override;
  void sendFromPipe(Stream& s, int pipe_r, uint32_t len) override;

  void watch(Watcher& w, int fd, WatchHandler* handler) override;
  void listen(Watcher& w, int fd, WatchHandler* handler) override;
  void pauseAccept(Watcher& w) override;
  void resumeAccept(Watcher& w) override;
  void unwatch(Watcher& w) override;

  void runOnce(int max_wait_ms) override;

 protected:
  void acceptBackoffEnded(Watcher& w) override;

 private:
  enum Op : uint64_t {
    kOpIgnore = 0,
    kOpRecv = 1,
    kOpSend = 2,
    kOpConnect = 3,
    kOpPoll = 4,
    kOpAccept = 5,
    kOpSplicePoll = 6,  // splice mode: the socket is readable, splice(2) into the pipe
    kOpPipeSend = 7,    // sendFromPipe: the socket is writable (poll) or the splice is done (nop)
  };
  static constexpr uint64_t kOpMask = 7;

  explicit UringLoop(uint32_t chunk_count) : EventLoop(chunk_count) {}
  io_uring_sqe* sqe();
  void armRecv(Stream& s);
  // Splice mode: IORING_OP_SPLICE always runs on an io-wq thread, so the loop polls and calls
  // splice(2) itself, as the epoll loop does.
  void armSplicePoll(Stream& s);
  void onSplicePoll(Stream& s);
  // The pipe send's splice(2); false when the socket is full (a POLLOUT is armed instead).
  bool spliceOut(Stream& s);
  void onPipeSend(Stream& s);
  void armWatcher(Watcher& w);
  void cancel(uint64_t user_data);
  void onStreamCqe(Stream& s, Op op, const io_uring_cqe& cqe);
  void onWatcherCqe(Watcher& w, Op op, const io_uring_cqe& cqe);
  void streamOpDone(Stream& s);
  void watcherOpDone(Watcher& w);
  void runDeferred();
  void refillRing();
  void wakeChunkWaiters();

  io_uring ring_{};
  bool ring_ready_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  Stream* deferred_ = nullptr;  // streams to release (closed, nothing in flight)
  Stream* chunk_waiters_ = nullptr;
  Watcher* released_watchers_ = nullptr;
  uint32_t ring_entries_ = 0;
  uint32_t ring_count_ = 0;  // chunks in the provided-buffer ring now
};

}  // namespace ballast::core
