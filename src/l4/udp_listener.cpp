// src/l4/udp_listener.cpp — UDP flows: client datagram → flow socket → backend; backend reply →
// listener socket → client.
#include "l4/udp_listener.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "l4/hash_key.h"

namespace ballast::l4 {
namespace {
constexpr size_t kMaxDatagramBytes = 65536;
constexpr uint64_t kTableFullLogEvery = 65536;
}  // namespace

class UdpListener::Flow final : public core::WatchHandler {
 public:
  Flow(UdpListener& owner, const net::SocketAddress& client, upstream::BackendState* backend,
       metrics::BackendCounters* backend_counters, int fd)
      : owner_(owner),
        client_(client),
        backend_(backend),
        backend_counters_(backend_counters),
        counters_(owner.counters_),
        fd_(fd) {
    timer_.bind(&Flow::onTimer, this);
    owner_.epoch_->ref();
    backend_->active.fetch_add(1, std::memory_order_relaxed);
    counters_->connections_total.add();
    counters_->connections_active.inc();
    backend_counters_->connections_total.add();
  }
  ~Flow() {
    counters_->connections_active.dec();
    backend_->active.fetch_sub(1, std::memory_order_relaxed);
    owner_.epoch_->unref();
  }
  Flow(const Flow&) = delete;
  Flow& operator=(const Flow&) = delete;

  void start() {
    owner_.loop_.watch(watcher_, fd_.get(), this);
    touch();
    armTimer();
  }
  void touch() { last_ms_ = owner_.loop_.nowMs(); }
  void armTimer() { owner_.loop_.timers().scheduleAt(timer_, last_ms_ + idleMs()); }
  uint64_t idleMs() const { return static_cast<uint64_t>(owner_.listener_->timeouts.idle.count()); }
  void forward(const uint8_t* data, size_t len) {
    touch();
    backend_counters_->bytes_out_total.add(len);
    if (::send(fd_.get(), data, len, MSG_NOSIGNAL) < 0) {
      // ECONNREFUSED: the backend's port answered ICMP unreachable; the datagram is lost, as
      // it would be without a proxy.
      core::LogLine(core::LogLevel::kDebug, "l4.udp_send_failed")
          .str("backend", backend_->name)
          .str("reason", strerror(errno));
    }
  }
  void stop() {
    core::TimerWheel::cancel(timer_);
    owner_.loop_.unwatch(watcher_);
  }
  const net::SocketAddress& client() const { return client_; }

  void onReady(core::Watcher& /*w*/) override {
    auto& buf = owner_.datagram_;
    for (;;) {
      const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
      if (n < 0) {
        return;  // EAGAIN; ICMP errors (ECONNREFUSED) surface here too and are dropped
      }
      touch();
      counters_->bytes_out_total.add(static_cast<uint64_t>(n));
      backend_counters_->bytes_in_total.add(static_cast<uint64_t>(n));
      ::sendto(owner_.fd_, buf.data(), static_cast<size_t>(n), MSG_NOSIGNAL, client_.sockaddrPtr(),
               client_.length());
    }
  }
  void onReleased(core::Watcher& /*w*/) override { owner_.flowReleased(this); }

 private:
  static void onTimer(void* self) {
    auto* f = static_cast<Flow*>(self);
    const uint64_t now = f->owner_.loop_.nowMs();
    if (now - f->last_ms_ < f->idleMs()) {
      f->armTimer();
      return;
    }
    f->owner_.expire(f);
  }

  UdpListener& owner_;
  net::SocketAddress client_;
  upstream::BackendState* backend_;
  metrics::BackendCounters* backend_counters_;
  metrics::ListenerCounters* counters_;
  core::Fd fd_;
  core::Watcher watcher_;
  core::Timer timer_;
  uint64_t last_ms_ = 0;
};

UdpListener::UdpListener(core::EventLoop& loop, const config::Listener* listener,
                         upstream::WorkerPool* pool, core::LocalRefCounted* epoch, int fd,
                         uint32_t max_flows)
    : loop_(loop),
      listener_(listener),
      pool_(pool),
      epoch_(epoch),
      fd_(fd),
      max_flows_(max_flows),
      datagram_(kMaxDatagramBytes) {
  epoch_->ref();
}

UdpListener::~UdpListener() {
  flows_.clear();
  dying_.clear();
  epoch_->unref();
}

void UdpListener::start() {
  reading_ = true;
  watcher_released_ = false;
  loop_.watch(watcher_, fd_, this);
}

void UdpListener::stop() {
  if (reading_) {
    reading_ = false;
    loop_.unwatch(watcher_);
  }
}

void UdpListener::update(const config::Listener* listener, upstream::WorkerPool* pool,
                         core::LocalRefCounted* epoch, uint32_t max_flows) {
  epoch->ref();
  epoch_->unref();
  listener_ = listener;
  pool_ = pool;
  epoch_ = epoch;
  max_flows_ = max_flows;
}

void UdpListener::onReleased(core::Watcher& /*w*/) { watcher_released_ = true; }

void UdpListener::onReady(core::Watcher& /*w*/) {
  for (;;) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    const ssize_t n = ::recvfrom(fd_, datagram_.data(), datagram_.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      return;
    }
    counters_->bytes_in_total.add(static_cast<uint64_t>(n));
    const auto client =
        net::SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&from), from_len);
    Flow* flow = flowFor(client);
    if (flow != nullptr) {
      flow->forward(datagram_.data(), static_cast<size_t>(n));
    }
  }
}

UdpListener::Flow* UdpListener::flowFor(const net::SocketAddress& client) {
  auto it = flows_.find(client);
  if (it != flows_.end()) {
    return it->second.get();
  }
  if (listener_->acl.enabled() && !listener_->acl.admits(client)) {
    ++dropped_;
    counters_->acl_denied_total.add();
    core::LogLine(core::LogLevel::kInfo, "l4.acl_denied", core::LogRepeat::kLimited)
        .str("listener", listener_->name)
        .str("client", client.toString());
    return nullptr;
  }
  if (flows_.size() >= max_flows_) {
    ++dropped_;
    counters_->rejected_total.add();
    // One line per 64Ki drops of this kind, not one per datagram.
    if (dropped_table_full_++ % kTableFullLogEvery == 0) {
      core::LogLine(core::LogLevel::kWarn, "l4.udp_flow_table_full", core::LogRepeat::kLimited)
          .str("listener", listener_->name)
          .unum("max_flows", max_flows_)
          .unum("dropped", dropped_table_full_);
    }
    return nullptr;
  }
  const auto choice = pool_->pick(hashKey(pool_->runtime().config->hash_key, client), {});
  if (!choice) {
    ++dropped_;
    counters_->no_backend_total.add();
    core::LogLine(core::LogLevel::kWarn, "l4.no_backend", core::LogRepeat::kLimited)
        .str("listener", listener_->name);
    return nullptr;
  }
  auto* backend = pool_->runtime().backends[*choice].get();
  const int fd = ::socket(backend->address.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, backend->address.sockaddrPtr(), backend->address.length()) != 0) {
    core::LogLine(core::LogLevel::kError, "l4.udp_flow_socket_failed", core::LogRepeat::kLimited)
        .str("backend", backend->name)
        .str("reason", strerror(errno));
    if (fd >= 0) {
      ::close(fd);
    }
    ++dropped_;
    return nullptr;
  }
  auto flow = std::make_unique<Flow>(*this, client, backend, &pool_->counters(*choice), fd);
  Flow* raw = flow.get();
  flows_.emplace(client, std::move(flow));
  raw->start();
  return raw;
}

void UdpListener::expire(Flow* f) {
  auto it = flows_.find(f->client());
  if (it == flows_.end()) {
    return;
  }
  dying_.push_back(std::move(it->second));
  flows_.erase(it);
  f->stop();
}

void UdpListener::flowReleased(Flow* f) {
  std::erase_if(dying_, [f](const auto& p) { return p.get() == f; });
}

void UdpListener::abortFlows() {
  std::vector<Flow*> all;
  all.reserve(flows_.size());
  for (auto& [addr, flow] : flows_) {
    all.push_back(flow.get());
  }
  for (Flow* f : all) {
    expire(f);
  }
}

}  // namespace ballast::l4
