// src/server/worker.h — one worker thread: its own event loop, listeners, sessions and pickers.
// The control thread talks to it only through a small mailbox and an eventfd.
#pragma once

#include <atomic>
#include <cstdint>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/event_loop.h"
#include "core/fd.h"
#include "core/local_ref.h"
#include "l4/sni_router.h"
#include "l4/stream_listener.h"
#include "l4/tcp_session.h"
#include "l4/udp_listener.h"
#include "l7/http_session.h"
#include "l7/router.h"
#include "l7/upstream_pool.h"
#include "metrics/proxy_metrics.h"
#include "server/snapshot.h"

namespace ballast::server {

class Worker final : public core::WatchHandler {
 public:
  Worker(uint32_t index, uint32_t worker_count, core::IoKind io);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread. The future says which backend it runs on, or why it could not start.
  std::future<std::string> start(SnapshotPtr first);
  // Control thread → worker. Both return at once; the worker acts on its next loop turn.
  void publish(SnapshotPtr snapshot);
  void requestStop(uint64_t deadline_ms);
  void join();

  void onReady(core::Watcher& w) override;

 private:
  struct Epoch final : core::LocalRefCounted {
    Epoch(Worker& w, SnapshotPtr s) : worker(w), snapshot(std::move(s)) {}
    void onLastUnref() override { worker.epochDone(this); }
    Worker& worker;
    SnapshotPtr snapshot;
    std::vector<std::unique_ptr<upstream::WorkerPool>> pools;
    std::vector<std::unique_ptr<l7::Router>> routers;         // per listener; null unless http
    std::vector<std::unique_ptr<l4::SniRouter>> sni_routers;  // null unless tls_passthrough
    std::vector<std::vector<metrics::RouteCounters*>> route_counters;  // per listener
    std::vector<l7::FilterChain> filters;  // per listener; empty unless http with filters
  };
  struct ListenerSlot {
    std::shared_ptr<ListenerSockets> sockets;
    std::unique_ptr<l4::StreamListener<l4::TcpSession>> tcp;
    std::unique_ptr<l4::UdpListener> udp;
    std::unique_ptr<l4::StreamListener<l7::HttpSession>> http;
    bool accepting = true;
    bool kept = false;  // scratch flag while applying a snapshot
  };

  void threadMain(std::promise<std::string> started, SnapshotPtr first);
  void apply(SnapshotPtr snapshot);
  void beginStop();
  void stopSlot(ListenerSlot& slot);
  void reapListeners();
  void epochDone(Epoch* e);
  uint32_t share(uint32_t total) const;
  l7::HttpEnv httpEnv(Epoch& e, const config::Listener& lc, size_t listener_index);
  l4::SessionEnv tcpEnv(Epoch& e, const config::Listener& lc, upstream::WorkerPool* pool,
                        size_t listener_index);
  size_t liveConnections() const;

  uint32_t index_;
  uint32_t worker_count_;
  core::IoKind io_;
  metrics::WorkerMetrics& metrics_;
  std::thread thread_;
  core::Fd wake_fd_;
  core::Watcher wake_watcher_;

  std::mutex mailbox_mu_;  // control thread ↔ worker only, never on the data path
  SnapshotPtr mailbox_snapshot_;
  std::optional<uint64_t> mailbox_stop_;

  std::unique_ptr<core::EventLoop> loop_;
  std::unique_ptr<l7::UpstreamPool> upstreams_;  // keep-alive upstream connections (HTTP)
  l7::WorkerScratch scratch_;
  std::list<std::unique_ptr<Epoch>> epochs_;
  Epoch* current_ = nullptr;
  std::list<ListenerSlot> listeners_;
  uint32_t retired_slots_ = 0;  // listeners that stopped accepting and still drain
  bool stopping_ = false;
  bool aborted_ = false;
  uint64_t stop_deadline_ms_ = 0;
};

}  // namespace ballast::server
