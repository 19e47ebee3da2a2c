// src/server/worker.cpp — the worker thread's loop, reload application and graceful stop.
#include "server/worker.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cache/store.h"
#include "core/clock.h"
#include "core/log.h"

namespace ballast::server {
namespace {
// How long one loop turn may sleep, so that a stop deadline is noticed without an event.
constexpr int kMaxTurnMs = 100;
}  // namespace

Worker::Worker(uint32_t index, uint32_t worker_count, core::IoKind io)
    : index_(index),
      worker_count_(worker_count),
      io_(io),
      metrics_(metrics::proxyMetrics().worker(index)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

Worker::~Worker() { join(); }

std::future<std::string> Worker::start(SnapshotPtr first) {
  std::promise<std::string> started;
  auto future = started.get_future();
  thread_ = std::thread(&Worker::threadMain, this, std::move(started), std::move(first));
  // Named so top, perf and the benches tell workers from the control thread (the main thread,
  // which keeps the process's name).
  const std::string name = "worker-" + std::to_string(index_);
  pthread_setname_np(thread_.native_handle(), name.c_str());
  return future;
}

void Worker::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Worker::publish(SnapshotPtr snapshot) {
  {
    std::lock_guard lock(mailbox_mu_);
    mailbox_snapshot_ = std::move(snapshot);
  }
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void Worker::requestStop(uint64_t deadline_ms) {
  {
    std::lock_guard lock(mailbox_mu_);
    mailbox_stop_ = deadline_ms;
  }
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void Worker::onReady(core::Watcher& /*w*/) {
  uint64_t count = 0;
  (void)!::read(wake_fd_.get(), &count, sizeof(count));
  SnapshotPtr snapshot;
  std::optional<uint64_t> stop;
  {
    std::lock_guard lock(mailbox_mu_);
    snapshot = std::move(mailbox_snapshot_);
    stop = mailbox_stop_;
    mailbox_stop_.reset();
  }
  if (snapshot && !stopping_) {
    apply(std::move(snapshot));
  }
  if (stop && !stopping_) {
    stop_deadline_ms_ = *stop;
    beginStop();
  }
}

uint32_t Worker::share(uint32_t total) const {
  // Per-worker share of a listener-wide limit, rounded up so the sum is never below it.
  return (total + worker_count_ - 1) / worker_count_;
}

void Worker::threadMain(std::promise<std::string> started, SnapshotPtr first) {
  std::string why;
  loop_ = core::EventLoop::create(io_, &why);
  if (!loop_) {
    started.set_value("error: io_uring unavailable: " + why);
    return;
  }
  if (!why.empty() && index_ == 0) {
    core::LogLine(core::LogLevel::kWarn, "core.io_fallback")
        .str("backend", loop_->name())
        .str("reason", why);
  }
  loop_->watch(wake_watcher_, wake_fd_.get(), this);
  upstreams_ = std::make_unique<l7::UpstreamPool>(*loop_);
  apply(std::move(first));
  started.set_value(loop_->name());

  while (true) {
    loop_->runOnce(kMaxTurnMs);
    if (retired_slots_ > 0) {
      reapListeners();
    }
    if (!stopping_) {
      continue;
    }
    if (!aborted_ && core::monotonicMs() >= stop_deadline_ms_ && liveConnections() > 0) {
      aborted_ = true;
      core::LogLine(core::LogLevel::kWarn, "server.shutdown_timeout")
          .unum("worker", index_)
          .unum("connections", liveConnections());
      for (auto& slot : listeners_) {
        if (slot.tcp) {
          slot.tcp->abortSessions();
        } else if (slot.http) {
          slot.http->abortSessions();
        }
      }
    }
    if (listeners_.empty()) {
      upstreams_->closeIdle();
      if (upstreams_->live() == 0) {
        break;
      }
    }
  }
  loop_->unwatch(wake_watcher_);
  loop_->runOnce(0);
  if (current_ != nullptr) {
    Epoch* e = current_;
    current_ = nullptr;
    e->unref();
  }
  upstreams_.reset();
  loop_.reset();
}

void Worker::apply(SnapshotPtr snapshot) {
  auto epoch = std::make_unique<Epoch>(*this, snapshot);
  for (const auto& p : snapshot->pools) {
    // Seeds differ per worker so random pickers do not march in step.
    epoch->pools.push_back(std::make_unique<upstream::WorkerPool>(
        p.get(), (snapshot->generation << 8U) ^ index_, &metrics_));
  }
  for (const auto& l : snapshot->config->listeners) {
    epoch->sni_routers.emplace_back();
    if (l.protocol == config::Protocol::kTlsPassthrough) {
      epoch->sni_routers.back() =
          std::make_unique<l4::SniRouter>(l, [&](const std::string& name) -> upstream::WorkerPool* {
            const int index = snapshot->poolIndex(name);
            return index < 0 ? nullptr : epoch->pools[static_cast<size_t>(index)].get();
          });
    }
    if (!config::isHttp(l.protocol)) {
      epoch->routers.emplace_back();
      continue;
    }
    epoch->routers.push_back(std::make_unique<l7::Router>(
        l, [&](const std::string& name) { return snapshot->poolIndex(name); }));
  }
  // Sized once here: sessions keep pointers to the inner vectors.
  epoch->route_counters.resize(snapshot->config->listeners.size());
  epoch->filters.resize(snapshot->config->listeners.size());
  Epoch* e = epoch.get();
  e->ref();  // held as current until the next snapshot
  epochs_.push_back(std::move(epoch));

  const auto& cfg = *snapshot->config;
  for (auto& slot : listeners_) {
    slot.kept = false;
  }
  for (size_t i = 0; i < cfg.listeners.size(); ++i) {
    const auto& lc = cfg.listeners[i];
    const auto& sockets = snapshot->sockets[i];
    const int pool_index = snapshot->poolIndex(lc.pool);
    upstream::WorkerPool* pool =
        pool_index < 0 ? nullptr : e->pools[static_cast<size_t>(pool_index)].get();
    ListenerSlot* found = nullptr;
    for (auto& slot : listeners_) {
      if (slot.accepting && slot.sockets == sockets) {
        found = &slot;
      }
    }
    if (found != nullptr) {
      // Same socket: new connections take the new settings, open ones keep theirs.
      found->kept = true;
      if (found->tcp) {
        found->tcp->update(tcpEnv(*e, lc, pool, i), share(lc.limits.max_connections));
      } else if (found->http) {
        found->http->update(httpEnv(*e, lc, i), share(lc.limits.max_connections));
      } else {
        found->udp->update(&lc, pool, e, share(lc.limits.max_flows));
        found->udp->setCounters(&metrics_.listener(lc.name));
      }
      continue;
    }
    const int fd = sockets->per_worker[index_].get();
    ListenerSlot slot;
    slot.sockets = sockets;
    slot.kept = true;
    if (lc.protocol == config::Protocol::kTcp || lc.protocol == config::Protocol::kTlsPassthrough) {
      slot.tcp = std::make_unique<l4::StreamListener<l4::TcpSession>>(
          tcpEnv(*e, lc, pool, i), fd, share(lc.limits.max_connections));
      slot.tcp->start();
    } else if (config::isHttp(lc.protocol)) {
      slot.http = std::make_unique<l4::StreamListener<l7::HttpSession>>(
          httpEnv(*e, lc, i), fd, share(lc.limits.max_connections));
      slot.http->start();
    } else {
      slot.udp =
          std::make_unique<l4::UdpListener>(*loop_, &lc, pool, e, fd, share(lc.limits.max_flows));
      slot.udp->setCounters(&metrics_.listener(lc.name));
      slot.udp->start();
    }
    listeners_.push_back(std::move(slot));
  }
  for (auto& slot : listeners_) {
    if (slot.accepting && !slot.kept) {
      stopSlot(slot);
    }
  }
  Epoch* previous = current_;
  current_ = e;
  if (previous != nullptr) {
    previous->unref();
  }
  reapListeners();
}

void Worker::beginStop() {
  stopping_ = true;
  for (auto& slot : listeners_) {
    if (slot.accepting) {
      stopSlot(slot);
    }
  }
}

void Worker::stopSlot(ListenerSlot& slot) {
  slot.accepting = false;
  ++retired_slots_;
  if (slot.tcp || slot.http) {
    if (slot.tcp) {
      slot.tcp->stopAccepting();
    } else {
      slot.http->stopAccepting();
    }
    // Leave the LISTEN state now, not when the last snapshot holding the socket goes: clients
    // are refused (and retry elsewhere) instead of waiting in a backlog nobody accepts from.
    if (!slot.sockets->handed_over.load(std::memory_order_acquire)) {
      ::shutdown(slot.sockets->per_worker[index_].get(), SHUT_RDWR);
    }
  } else {
    // UDP has no connection to finish: its flows end with the listener.
    slot.udp->stop();
    slot.udp->abortFlows();
  }
}

void Worker::reapListeners() {
  std::erase_if(listeners_, [this](ListenerSlot& slot) {
    if (slot.accepting) {
      return false;
    }
    const bool done = slot.tcp    ? slot.tcp->sessions() == 0 && slot.tcp->acceptorReleased()
                      : slot.http ? slot.http->sessions() == 0 && slot.http->acceptorReleased()
                                  : slot.udp->idle();
    if (done) {
      // This worker's socket of a retired listener: nobody reads it any more, and a UDP socket
      // left open would keep taking its SO_REUSEPORT share of datagrams.
      slot.sockets->per_worker[index_].reset();
      --retired_slots_;
    }
    return done;
  });
}

size_t Worker::liveConnections() const {
  size_t n = 0;
  for (const auto& slot : listeners_) {
    n += slot.tcp ? slot.tcp->sessions() : slot.http ? slot.http->sessions() : slot.udp->flows();
  }
  return n;
}

l7::HttpEnv Worker::httpEnv(Epoch& e, const config::Listener& lc, size_t listener_index) {
  l7::HttpEnv env;
  env.loop = loop_.get();
  env.listener = &lc;
  env.epoch = &e;
  env.router = e.routers[listener_index].get();
  env.pools = &e.pools;
  env.upstreams = upstreams_.get();
  env.scratch = &scratch_;
  env.worker = index_;
  env.tls = e.snapshot->tls[listener_index].get();
  env.upstream_tls = &e.snapshot->upstream_tls;
  env.counters = &metrics_.listener(lc.name);
  auto& routes = e.route_counters[listener_index];
  routes.clear();
  for (const auto& r : lc.http.routes) {
    routes.push_back(&metrics_.route(lc.name, r.name));
  }
  env.route_counters = &routes;
  // The listener's cache store, shared with the other workers (cache/store.h), when it or one
  // of its routes caches: the listener's max_size sizes it, else the largest of its routes'.
  uint64_t cache_bytes = lc.http.cache.enabled ? lc.http.cache.max_size : 0;
  for (const auto& r : lc.http.routes) {
    if (!lc.http.cache.enabled && r.cache && r.cache->enabled) {
      cache_bytes = std::max(cache_bytes, r.cache->max_size);
    }
  }
  if (cache_bytes > 0) {
    env.cache_store = cache::storeFor(lc.name, cache_bytes).get();
  }
  e.filters[listener_index] = l7::buildFilterChain(lc, *env.counters);
  env.filters = &e.filters[listener_index];
  if (!lc.http.access_log.empty()) {
    std::string error;
    env.access_log = core::sharedLineWriter(lc.http.access_log, &error);
    if (env.access_log == nullptr) {
      core::LogLine(core::LogLevel::kError, "l7.access_log_failed")
          .str("listener", lc.name)
          .str("reason", error);
    }
  }
  return env;
}

l4::SessionEnv Worker::tcpEnv(Epoch& e, const config::Listener& lc, upstream::WorkerPool* pool,
                              size_t listener_index) {
  l4::SessionEnv env{loop_.get(), &lc, pool, &e, nullptr};
  env.counters = &metrics_.listener(lc.name);
  env.sni = e.sni_routers[listener_index].get();
  return env;
}

void Worker::epochDone(Epoch* e) {
  std::erase_if(epochs_, [e](const auto& p) { return p.get() == e; });
}

}  // namespace ballast::server
