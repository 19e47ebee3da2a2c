// src/core/epoll_loop.h — the readiness-based backend: edge-triggered epoll for streams,
// level-triggered for watchers, completions emulated through a deferred list.
#pragma once

#include <sys/epoll.h>

#include <array>

#include "core/event_loop.h"
#include "core/fd.h"

namespace ballast::core {

class EpollLoop final : public EventLoop {
 public:
  explicit EpollLoop(uint32_t chunk_count);
  const char* name() const override { return "epoll"; }

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
  static constexpr int kMaxEvents = 256;
  static constexpr uint64_t kWatcherTag = 1;  // low pointer bit tells watchers from streams

  void defer(Stream& s, uint16_t what);
  void deferWatcherRelease(Watcher& w);
  void readSome(Stream& s);
  // Splice mode's readSome; false when it has to stop (drained, pipe full, end of stream).
  bool spliceSome(Stream& s);
  void trySend(Stream& s);
  void onStreamEvent(Stream& s, uint32_t events);
  void onWatcherEvent(Watcher& w);
  void setWatcherEvents(Watcher& w, uint32_t events);
  void runDeferred();
  void finishConnect(Stream& s);

  Fd epfd_;
  std::array<epoll_event, kMaxEvents> events_{};
  Stream* deferred_head_ = nullptr;
  Stream* deferred_tail_ = nullptr;
  Stream* chunk_waiters_ = nullptr;
  Watcher* released_watchers_ = nullptr;
};

}  // namespace ballast::core
