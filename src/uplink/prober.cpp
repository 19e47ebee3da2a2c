// src/uplink/prober.cpp — interface-bound TCP connects with a timeout.
#include "uplink/prober.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

namespace ballast::uplink {
namespace {
constexpr uint16_t kDiscardPort = 9;  // RFC 863: the gateway ignores it, but must ARP for us
}  // namespace

class UplinkProber::Attempt final : public core::StreamHandler {
 public:
  Attempt(UplinkProber& owner, net::SocketAddress to) : owner_(owner), to_(to) {}

  // False when the socket could not even be made (a verdict was given).
  void begin() {
    busy_ = true;
    decided_ = false;
    started_ms_ = owner_.loop_.nowMs();
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      busy_ = false;
      decide(false, false);
      return;
    }
    if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, owner_.interface_.c_str(),
                     static_cast<socklen_t>(owner_.interface_.size())) != 0) {
      ::close(fd);
      busy_ = false;
      decide(false, false);
      return;
    }
    owner_.loop_.attach(stream_, fd, this);
    owner_.loop_.connect(stream_, to_);
  }
  void abandon(bool timed_out) {
    if (busy_ && !decided_) {
      decide(false, timed_out);
    }
    if (busy_ && stream_.open()) {
      owner_.loop_.close(stream_);
    }
  }
  bool busy() const { return busy_; }
  bool decided() const { return decided_; }
  uint64_t elapsedMs() const { return owner_.loop_.nowMs() - started_ms_; }

  void onConnect(core::Stream& s, int err) override {
    decide(err == 0, false);
    owner_.loop_.close(s);
  }
  void onRecv(core::Stream& /*s*/, core::ChunkId id, uint32_t /*len*/) override {
    owner_.loop_.releaseChunk(id);
  }
  void onRecvEnd(core::Stream& /*s*/, int /*err*/) override {}
  void onSent(core::Stream& /*s*/, int64_t /*result*/) override {}
  void onReleased(core::Stream& /*s*/) override { busy_ = false; }

 private:
  void decide(bool ok, bool timed_out) {
    if (decided_) {
      return;
    }
    decided_ = true;
    owner_.onVerdict(*this, ok, timed_out);
  }

  UplinkProber& owner_;
  net::SocketAddress to_;
  core::Stream stream_;
  uint64_t started_ms_ = 0;
  bool busy_ = false;
  bool decided_ = true;
};

UplinkProber::UplinkProber(core::EventLoop& loop, std::string interface, config::UplinkProbe probe,
                           uint64_t interval_ms, uint64_t timeout_ms, RoundFn on_round)
    : loop_(loop),
      interface_(std::move(interface)),
      probe_(std::move(probe)),
      interval_ms_(interval_ms),
      timeout_ms_(timeout_ms),
      on_round_(std::move(on_round)) {
  interval_timer_.bind(&UplinkProber::onIntervalTimer, this);
  timeout_timer_.bind(&UplinkProber::onTimeoutTimer, this);
  if (probe_.kind == config::UplinkProbeKind::kTcp) {
    for (const auto& t : probe_.targets) {
      attempts_.push_back(std::make_unique<Attempt>(*this, t));
    }
  }
}

UplinkProber::~UplinkProber() { retire(); }

void UplinkProber::start(uint64_t first_delay_ms) {
  loop_.timers().schedule(interval_timer_, first_delay_ms);
}

void UplinkProber::retire() {
  retired_ = true;
  core::TimerWheel::cancel(interval_timer_);
  core::TimerWheel::cancel(timeout_timer_);
  for (auto& a : attempts_) {
    a->abandon(false);
  }
}

bool UplinkProber::idle() const {
  return std::none_of(attempts_.begin(), attempts_.end(), [](const auto& a) { return a->busy(); });
}

void UplinkProber::onIntervalTimer(void* self) {
  auto* p = static_cast<UplinkProber*>(self);
  p->loop_.timers().schedule(p->interval_timer_, p->interval_ms_);
  if (p->probe_.kind == config::UplinkProbeKind::kGateway || p->nudge_gateway_) {
    p->sendGatewayDatagram();
  }
  if (p->probe_.kind == config::UplinkProbeKind::kTcp) {
    p->startRound();
  }
}

void UplinkProber::onTimeoutTimer(void* self) {
  auto* p = static_cast<UplinkProber*>(self);
  for (auto& a : p->attempts_) {
    a->abandon(true);
  }
}

void UplinkProber::startRound() {
  if (pending_ != 0 ||
      std::any_of(attempts_.begin(), attempts_.end(), [](const auto& a) { return a->busy(); })) {
    return;  // the last round's sockets are still closing; skip one beat
  }
  pending_ = static_cast<uint32_t>(attempts_.size());
  round_ok_ = false;
  best_rtt_ms_ = 0;
  loop_.timers().schedule(timeout_timer_, timeout_ms_);
  for (auto& a : attempts_) {
    a->begin();
  }
}

void UplinkProber::onVerdict(Attempt& a, bool ok, bool timed_out) {
  if (ok) {
    ++counters_.ok;
    const uint64_t rtt = a.elapsedMs();
    best_rtt_ms_ = round_ok_ ? std::min(best_rtt_ms_, rtt) : rtt;
    round_ok_ = true;
  } else if (timed_out) {
    ++counters_.timeout;
  } else {
    ++counters_.failed;
  }
  if (pending_ > 0 && --pending_ == 0) {
    core::TimerWheel::cancel(timeout_timer_);
    if (!retired_) {
      on_round_(round_ok_, best_rtt_ms_);
    }
  }
}

void UplinkProber::sendGatewayDatagram() {
  if (gateway_ == 0) {
    return;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return;
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, interface_.c_str(),
                   static_cast<socklen_t>(interface_.size())) == 0) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(kDiscardPort);
    to.sin_addr.s_addr = gateway_;
    const char byte = 0;
    ::sendto(fd, &byte, 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  }
  ::close(fd);
}

}  // namespace ballast::uplink
