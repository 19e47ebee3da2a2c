// src/upstream/health_checker.cpp — one Probe per backend: timer → connect → conversation →
// verdict → timer. A probe holds at most one socket (or one child process) at a time.
#include "upstream/health_checker.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "core/clock.h"
#include "core/log.h"
#include "core/socket.h"
#include "core/splitmix.h"
#include "upstream/checks/check_conversation.h"
#include "upstream/checks/exec_check.h"

namespace ballast::upstream {
namespace {
constexpr int kMantissaShift = 11;
constexpr double kTwoPow53 = 9007199254740992.0;

std::string errnoText(int err) { return std::strerror(err); }  // NOLINT(concurrency-mt-unsafe)

size_t typeIndex(config::HealthCheckType t) { return static_cast<size_t>(t); }

core::Result<int> openDatagramSocket(const net::SocketAddress& to) {
  const int fd = ::socket(to.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return core::Error{core::Errc::kSystem, "socket", errno};
  }
  return fd;
}

// Where a check connects: its own address and port when set, the backend's otherwise.
net::SocketAddress checkAddress(const HealthTarget& t) {
  net::SocketAddress a = t.check.address ? *t.check.address : t.backend->address;
  a.setPort(t.check.port != 0 ? t.check.port : t.backend->address.port());
  return a;
}

}  // namespace

class HealthChecker::Probe final : public core::StreamHandler {
 public:
  Probe(HealthChecker& owner, HealthTarget target) : owner_(owner), target_(std::move(target)) {
    interval_timer_.bind(&Probe::onIntervalTimer, this);
    timeout_timer_.bind(&Probe::onTimeoutTimer, this);
    interval_ms = baseInterval();
  }

  const HealthTarget& target() const { return target_; }
  void setTarget(HealthTarget t) {
    if (busy_ && t.check.type != target_.check.type) {
      abandon();  // a check of the old type says nothing about the new one
    }
    target_ = std::move(t);
    // A new interval or backoff limit applies at once; a backend down keeps its backoff.
    const bool up = target_.backend->healthy.load(std::memory_order_relaxed);
    const uint64_t cap = std::max(baseInterval(), backoffMax());
    interval_ms = up ? baseInterval() : std::clamp(interval_ms, baseInterval(), cap);
  }
  bool busy() const { return busy_; }
  void retire() {
    retired_ = true;
    core::TimerWheel::cancel(interval_timer_);
    core::TimerWheel::cancel(timeout_timer_);
    if (exec_ && exec_->running()) {
      exec_->kill();
    }
  }
  bool releasedAfterRetire() const { return retired_ && !busy_; }

  void schedule(uint64_t delay_ms) { owner_.loop_.timers().schedule(interval_timer_, delay_ms); }
  uint64_t baseInterval() const { return static_cast<uint64_t>(target_.check.interval.count()); }
  uint64_t backoffMax() const { return static_cast<uint64_t>(target_.check.backoff_max.count()); }

  HealthStatus status() const {
    HealthStatus s;
    s.type = target_.check.type;
    s.target = checkAddress(target_).toString();
    s.has_result = has_result_;
    s.last_ok = last_ok_;
    s.last_reason = last_reason_;
    s.interval_ms = interval_ms;
    s.ok_streak = ok_streak;
    s.fail_streak = fail_streak;
    return s;
  }

  uint32_t ok_streak = 0;
  uint32_t fail_streak = 0;
  uint64_t interval_ms = 0;  // the base interval, or more while backing off
  uint64_t started_us = 0;   // when the current check began

  void onConnect(core::Stream& s, int err) override {
    if (err != 0) {
      finish(false, errnoText(err));
      closeStream(s);
      return;
    }
    const auto j = conversation_->start(queued_);
    if (j.done()) {
      finish(j.verdict == checks::Verdict::kHealthy, j.reason);
      closeStream(s);
      return;
    }
    owner_.loop_.startRecv(s);
    flush(s);
  }
  void onRecv(core::Stream& s, core::ChunkId id, uint32_t len) override {
    if (verdict_given_ || !conversation_) {
      owner_.loop_.releaseChunk(id);
      return;
    }
    const std::span<const uint8_t> in(owner_.loop_.chunks().data(id), len);
    const auto j = conversation_->onBytes(in, queued_);
    owner_.loop_.releaseChunk(id);
    if (j.done()) {
      finish(j.verdict == checks::Verdict::kHealthy, j.reason);
      closeStream(s);
      return;
    }
    flush(s);
  }
  void onRecvEnd(core::Stream& s, int err) override {
    if (!verdict_given_ && conversation_) {
      auto j = conversation_->onEnd(err);
      finish(j.verdict == checks::Verdict::kHealthy,
             j.done() ? j.reason : std::string("closed before a verdict"));
    }
    closeStream(s);
  }
  void onSent(core::Stream& s, int64_t result) override {
    if (result < 0) {
      finish(false, "send: " + errnoText(static_cast<int>(-result)));
      closeStream(s);
      return;
    }
    sending_.erase(0, static_cast<size_t>(result));
    if (!sending_.empty() && !closing_) {
      owner_.loop_.send(s, reinterpret_cast<const uint8_t*>(sending_.data()),
                        static_cast<uint32_t>(sending_.size()));
      return;
    }
    flush(s);
  }
  void onReleased(core::Stream& /*s*/) override { ended(); }

 private:
  static void onIntervalTimer(void* self) { static_cast<Probe*>(self)->start(); }
  static void onTimeoutTimer(void* self) {
    auto* p = static_cast<Probe*>(self);
    p->finish(false, "timed out after " + std::to_string(p->target_.check.timeout.count()) + "ms");
    if (p->exec_ && p->exec_->running()) {
      p->exec_->kill();  // the run ends when the child is reaped
    } else {
      p->closeStream(p->stream_);
    }
  }

  void start() {
    started_us = core::monotonicUs();
    ++owner_.checks_run_;
    ++owner_.by_type_[typeIndex(target_.check.type)];
    verdict_given_ = false;
    closing_ = false;
    address_ = checkAddress(target_);
    busy_ = true;
    owner_.loop_.timers().schedule(timeout_timer_,
                                   static_cast<uint64_t>(target_.check.timeout.count()));
    if (target_.check.type == config::HealthCheckType::kExec) {
      if (!exec_) {
        exec_ = std::make_unique<checks::ExecRun>(owner_.loop_, [this](checks::Judgement j) {
          finish(j.verdict == checks::Verdict::kHealthy, j.reason);
          ended();
        });
      }
      exec_->start(target_.check.command, address_);
      return;
    }
    conversation_ =
        checks::makeConversation(target_.check, target_.backend->name, owner_.nextRandom());
    const bool udp = checks::usesUdp(target_.check);
    auto fd = udp ? openDatagramSocket(address_) : core::openStreamSocket(address_);
    if (!fd || !conversation_) {
      finish(false, fd ? "no conversation for this check type" : errnoText(fd.error().sys_errno));
      ended();
      return;
    }
    sending_.clear();
    queued_.clear();
    owner_.loop_.attach(stream_, *fd, this);
    owner_.loop_.connect(stream_, address_);
  }

  // Ends the run in flight without a verdict; the next check is scheduled once it has ended.
  void abandon() {
    verdict_given_ = true;
    core::TimerWheel::cancel(timeout_timer_);
    if (exec_ && exec_->running()) {
      exec_->kill();
    } else {
      closeStream(stream_);
    }
  }

  // Sends what the conversation queued, once the previous send is done.
  void flush(core::Stream& s) {
    if (closing_ || !sending_.empty() || queued_.empty()) {
      return;
    }
    sending_.swap(queued_);
    queued_.clear();
    owner_.loop_.send(s, reinterpret_cast<const uint8_t*>(sending_.data()),
                      static_cast<uint32_t>(sending_.size()));
  }

  void closeStream(core::Stream& s) {
    if (!closing_) {
      closing_ = true;
      owner_.loop_.close(s);
    }
  }

  // The socket is released or the child reaped: the probe is free for its next check.
  void ended() {
    busy_ = false;
    conversation_.reset();
    if (retired_) {
      return;  // the owner frees retired probes once they end
    }
    schedule(owner_.jittered(interval_ms, target_.check.jitter));
  }

  void finish(bool ok, const std::string& why) {
    if (verdict_given_) {
      return;
    }
    verdict_given_ = true;
    core::TimerWheel::cancel(timeout_timer_);
    has_result_ = true;
    last_ok_ = ok;
    last_reason_ = why;
    if (!ok) {
      ++owner_.failed_by_type_[typeIndex(target_.check.type)];
    }
    if (!retired_) {
      owner_.onProbeResult(*this, ok, why);
    }
  }

  HealthChecker& owner_;
  HealthTarget target_;
  net::SocketAddress address_;  // this check's; must outlive the connect
  core::Stream stream_;
  core::Timer interval_timer_;
  core::Timer timeout_timer_;
  std::unique_ptr<checks::CheckConversation> conversation_;
  std::unique_ptr<checks::ExecRun> exec_;
  std::string sending_;  // handed to the loop, untouched until onSent
  std::string queued_;   // what the conversation wants sent next
  bool busy_ = false;
  bool retired_ = false;
  bool verdict_given_ = false;
  bool closing_ = false;
  bool has_result_ = false;
  bool last_ok_ = false;
  std::string last_reason_;

  friend class HealthChecker;
};

HealthChecker::HealthChecker(core::EventLoop& loop, uint64_t seed) : loop_(loop), rng_(seed) {}

HealthChecker::~HealthChecker() = default;

uint64_t HealthChecker::nextRandom() { return core::splitMix64(rng_); }

uint64_t HealthChecker::jittered(uint64_t base_ms, double jitter) {
  const auto base = static_cast<double>(base_ms);
  const double unit = static_cast<double>(nextRandom() >> kMantissaShift) / kTwoPow53;  // [0,1)
  const double factor = 1.0 + jitter * (2.0 * unit - 1.0);
  const double ms = base * factor;
  return ms < 1.0 ? 1 : static_cast<uint64_t>(ms);
}

void HealthChecker::setTargets(std::vector<HealthTarget> targets) {
  std::vector<std::unique_ptr<Probe>> next;
  std::unordered_map<const BackendState*, Probe*> index;
  next.reserve(targets.size());
  index.reserve(targets.size());
  // Old probes by backend, so matching stays linear for pools of thousands.
  std::unordered_map<const BackendState*, size_t> old_at;
  old_at.reserve(probes_.size());
  for (size_t i = 0; i < probes_.size(); ++i) {
    old_at.emplace(probes_[i]->target().backend.get(), i);
  }
  for (auto& t : targets) {
    if (t.check.type == config::HealthCheckType::kNone) {
      continue;
    }
    std::unique_ptr<Probe> probe;
    if (const auto it = old_at.find(t.backend.get()); it != old_at.end() && probes_[it->second]) {
      probe = std::move(probes_[it->second]);
    }
    if (probe) {
      probe->setTarget(std::move(t));
    } else {
      probe = std::make_unique<Probe>(*this, std::move(t));
      // First checks spread over one interval so a big pool is not probed in one burst.
      const uint64_t interval = probe->baseInterval();
      probe->schedule(interval == 0 ? 0 : nextRandom() % interval);
    }
    index.emplace(probe->target().backend.get(), probe.get());
    next.push_back(std::move(probe));
  }
  for (auto& old : probes_) {
    if (!old) {
      continue;
    }
    old->retire();
    if (old->busy()) {
      retiring_.push_back(std::move(old));
    }
  }
  std::erase_if(retiring_, [](const auto& p) { return p->releasedAfterRetire(); });
  probes_ = std::move(next);
  by_backend_ = std::move(index);
}

std::optional<HealthStatus> HealthChecker::status(const BackendState& backend) const {
  const auto it = by_backend_.find(&backend);
  if (it == by_backend_.end()) {
    return std::nullopt;
  }
  return it->second->status();
}

void HealthChecker::onProbeResult(Probe& p, bool ok, const std::string& why) {
  const auto& t = p.target();
  auto& state = *t.backend;
  if (ok) {
    state.check_latency_us.store(static_cast<uint32_t>(core::monotonicUs() - p.started_us),
                                 std::memory_order_relaxed);
  }
  const bool was_up = state.healthy.load(std::memory_order_relaxed);
  if (ok) {
    ++p.ok_streak;
    p.fail_streak = 0;
  } else {
    ++p.fail_streak;
    p.ok_streak = 0;
  }
  bool now_up = was_up;
  if (was_up && p.fail_streak >= t.check.fall) {
    now_up = false;
  } else if (!was_up && p.ok_streak >= t.check.rise) {
    now_up = true;
  }
  // Backoff: each failure while down doubles the interval up to the limit; the first success
  // goes back to the base interval, so `rise` is reached at the usual pace.
  const uint64_t base = p.baseInterval();
  if (ok || p.backoffMax() == 0) {
    p.interval_ms = base;
  } else if (!now_up) {
    p.interval_ms = std::min(std::max(p.interval_ms, base) * 2, std::max(p.backoffMax(), base));
  }
  const std::string_view type = [&] {
    switch (t.check.type) {
      case config::HealthCheckType::kTcp:
        return "tcp";
      case config::HealthCheckType::kHttp:
        return "http";
      case config::HealthCheckType::kTls:
        return "tls";
      case config::HealthCheckType::kPostgres:
        return "postgres";
      case config::HealthCheckType::kMysql:
        return "mysql";
      case config::HealthCheckType::kRedis:
        return "redis";
      case config::HealthCheckType::kSendExpect:
        return "send_expect";
      case config::HealthCheckType::kDns:
        return "dns";
      case config::HealthCheckType::kExec:
        return "exec";
      case config::HealthCheckType::kGrpc:
        return "grpc";
      default:
        return "none";
    }
  }();
  if (now_up == was_up) {
    if (!ok) {
      core::LogLine(core::LogLevel::kDebug, "health.check_failed")
          .str("pool", t.pool)
          .str("backend", state.name)
          .str("type", type)
          .str("reason", why)
          .unum("fail_streak", p.fail_streak)
          .unum("next_interval_ms", p.interval_ms);
    }
    return;
  }
  if (now_up) {
    // Before the generation bump: the worker that sees it also sees the start of the ramp.
    state.up_since_ms.store(core::monotonicMs(), std::memory_order_relaxed);
  }
  state.healthy.store(now_up, std::memory_order_relaxed);
  t.generation->fetch_add(1, std::memory_order_release);
  ++state_changes_;
  {
    // Written before the callback runs: a log line is built in a per-thread buffer, so a
    // second line (the audit record) must not start while this one is open.
    auto line = core::LogLine(now_up ? core::LogLevel::kInfo : core::LogLevel::kWarn,
                              now_up ? "health.up" : "health.down");
    line.str("pool", t.pool).str("backend", state.name).str("type", type).str("reason", why);
    if (now_up) {
      line.unum("successes", p.ok_streak);
    } else {
      line.unum("failures", p.fail_streak);
    }
  }
  if (on_change_) {
    on_change_(t, now_up, why);
  }
}

}  // namespace ballast::upstream
