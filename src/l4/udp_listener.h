// src/l4/udp_listener.h — one worker's UDP listener. Each client address is a flow pinned to
// one backend through its own connected socket; replies go back out of the listener's socket,
// so clients see them come from the address they sent to. Flows expire after the idle
// timeout; the table is bounded, and datagrams that would need a new flow beyond it are dropped
// and counted.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "config/config_types.h"
#include "core/event_loop.h"
#include "core/fd.h"
#include "core/local_ref.h"
#include "core/timer_wheel.h"
#include "upstream/worker_pool.h"

namespace ballast::l4 {

class UdpListener final : public core::WatchHandler {
 public:
  UdpListener(core::EventLoop& loop, const config::Listener* listener, upstream::WorkerPool* pool,
              core::LocalRefCounted* epoch, int fd, uint32_t max_flows);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  void start();
  void stop();  // stop reading; flows expire as usual
  void abortFlows();
  void update(const config::Listener* listener, upstream::WorkerPool* pool,
              core::LocalRefCounted* epoch, uint32_t max_flows);

  size_t flows() const { return flows_.size(); }
  bool idle() const { return flows_.empty() && dying_.empty() && watcher_released_; }
  uint64_t dropped() const { return dropped_; }
  // This worker's counters for the listener; flows keep the ones they started with.
  void setCounters(metrics::ListenerCounters* counters) { counters_ = counters; }

  void onReady(core::Watcher& w) override;
  void onReleased(core::Watcher& w) override;

  class Flow;

 private:
  friend class Flow;
  Flow* flowFor(const net::SocketAddress& client);
  void expire(Flow* f);
  void flowReleased(Flow* f);

  core::EventLoop& loop_;
  const config::Listener* listener_;
  upstream::WorkerPool* pool_;
  core::LocalRefCounted* epoch_;
  int fd_;
  uint32_t max_flows_;
  core::Watcher watcher_;
  bool watcher_released_ = true;
  bool reading_ = false;
  metrics::ListenerCounters* counters_ = &unset_counters_;
  metrics::ListenerCounters unset_counters_;
  uint64_t dropped_ = 0;             // every datagram dropped, whatever the reason
  uint64_t dropped_table_full_ = 0;  // of those, for want of a flow slot
  std::vector<uint8_t> datagram_;
  std::unordered_map<net::SocketAddress, std::unique_ptr<Flow>, net::SocketAddressHash> flows_;
  std::vector<std::unique_ptr<Flow>> dying_;
};

}  // namespace ballast::l4
