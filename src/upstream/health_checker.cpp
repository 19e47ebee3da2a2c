// src/upstream/health_checker.cpp — one Probe per backend: timer → connect → verdict → timer.
#include "upstream/health_checker.h"

#include <algorithm>
#include <cstring>

#include "core/clock.h"
#include "core/log.h"
#include "core/socket.h"
#include "core/splitmix.h"
#include "proto/http1/response_parser.h"

namespace ballast::upstream {
namespace {
constexpr int kMantissaShift = 11;
constexpr double kTwoPow53 = 9007199254740992.0;
// expect_body is looked for in the first 64 KiB of a health check's response body.
constexpr size_t kMaxCheckedBodyBytes = 64 * 1024;
}  // namespace

class HealthChecker::Probe final : public core::StreamHandler {
 public:
  Probe(HealthChecker& owner, HealthTarget target) : owner_(owner), target_(std::move(target)) {
    interval_timer_.bind(&Probe::onIntervalTimer, this);
    timeout_timer_.bind(&Probe::onTimeoutTimer, this);
  }

  const HealthTarget& target() const { return target_; }
  void setTarget(HealthTarget t) { target_ = std::move(t); }
  bool busy() const { return busy_; }
  void retire() {
    retired_ = true;
    core::TimerWheel::cancel(interval_timer_);
    core::TimerWheel::cancel(timeout_timer_);
  }
  bool releasedAfterRetire() const { return retired_ && !busy_; }

  void schedule(uint64_t delay_ms) { owner_.loop_.timers().schedule(interval_timer_, delay_ms); }

  uint32_t ok_streak = 0;
  uint32_t fail_streak = 0;

  void onConnect(core::Stream& s, int err) override {
    if (err != 0 || target_.check.type != config::HealthCheckType::kHttp) {
      core::TimerWheel::cancel(timeout_timer_);
      finish(err == 0, err);
      owner_.loop_.close(s);
      return;
    }
    // HTTP: one request, then judge the response (the timeout covers the whole exchange).
    request_ = target_.check.method + " " + target_.check.path + " HTTP/1.1\r\nHost: " +
               (target_.check.host.empty() ? target_.backend->name : target_.check.host) +
               "\r\nUser-Agent: ballast-health-check\r\nConnection: close\r\n\r\n";
    parser_ = std::make_unique<proto::http1::ResponseParser>();
    parser_->setRequestMethod(target_.check.method);
    status_ = 0;
    body_.clear();
    owner_.loop_.startRecv(s);
    owner_.loop_.send(s, reinterpret_cast<const uint8_t*>(request_.data()),
                      static_cast<uint32_t>(request_.size()));
  }
  void onRecv(core::Stream& s, core::ChunkId id, uint32_t len) override {
    std::span<const uint8_t> in(owner_.loop_.chunks().data(id), len);
    bool done = false;
    while (!done && parser_) {
      const auto p = parser_->next(in);
      in = in.subspan(p.consumed);
      switch (p.event) {
        case proto::http1::Event::kHead:
          status_ = parser_->head().status;
          break;
        case proto::http1::Event::kBody:
          if (body_.size() < kMaxCheckedBodyBytes) {
            body_.append(reinterpret_cast<const char*>(p.body.data()),
                         std::min(p.body.size(), kMaxCheckedBodyBytes - body_.size()));
          }
          break;
        case proto::http1::Event::kNeedMore:
          done = true;
          break;
        default:  // message end, tunnel, error: time for a verdict
          judge(p.event == proto::http1::Event::kMessageEnd);
          done = true;
          break;
      }
    }
    owner_.loop_.releaseChunk(id);
    if (verdict_given_) {
      owner_.loop_.close(s);
    }
  }
  void onRecvEnd(core::Stream& s, int err) override {
    if (!verdict_given_) {
      // A close-delimited body ends here; anything else is a failed check.
      judge(err == 0 && parser_ && parser_->finish() == proto::http1::Event::kMessageEnd);
    }
    owner_.loop_.close(s);
  }
  void onSent(core::Stream& s, int64_t result) override {
    if (result < 0 || static_cast<size_t>(result) != request_.size()) {
      judge(false);  // a health request fits one send on a fresh socket, or the peer is broken
      owner_.loop_.close(s);
    }
  }
  void onReleased(core::Stream& /*s*/) override {
    busy_ = false;
    if (retired_) {
      return;  // the owner frees retired probes after their stream is released
    }
    schedule(owner_.jittered(target_.check));
  }

 private:
  static void onIntervalTimer(void* self) { static_cast<Probe*>(self)->start(); }
  static void onTimeoutTimer(void* self) {
    auto* p = static_cast<Probe*>(self);
    p->finish(false, ETIMEDOUT);
    p->owner_.loop_.close(p->stream_);
  }

  void start() {
    started_us = core::monotonicUs();
    auto fd = core::openStreamSocket(target_.backend->address);
    ++owner_.checks_run_;
    if (!fd) {
      finish(false, fd.error().sys_errno);
      schedule(owner_.jittered(target_.check));
      return;
    }
    busy_ = true;
    verdict_given_ = false;
    owner_.loop_.attach(stream_, *fd, this);
    owner_.loop_.connect(stream_, target_.backend->address);
    owner_.loop_.timers().schedule(timeout_timer_,
                                   static_cast<uint64_t>(target_.check.timeout.count()));
  }

  // HTTP verdict: a complete response with the expected status (and body text, if asked for).
  void judge(bool complete) {
    core::TimerWheel::cancel(timeout_timer_);
    const auto& c = target_.check;
    const bool status_ok = status_ >= c.expect_status_min && status_ <= c.expect_status_max;
    const bool body_ok = c.expect_body.empty() || body_.find(c.expect_body) != std::string::npos;
    finish(complete && status_ok && body_ok, complete ? EPROTO : ECONNRESET);
    parser_.reset();
    body_.clear();
  }

  void finish(bool ok, int err) {
    if (verdict_given_) {
      return;
    }
    verdict_given_ = true;
    if (!retired_) {
      owner_.onProbeResult(*this, ok, err);
    }
  }

  HealthChecker& owner_;
  HealthTarget target_;
  core::Stream stream_;
  core::Timer interval_timer_;
  core::Timer timeout_timer_;
  uint64_t started_us = 0;  // when the current check began
  bool busy_ = false;
  bool retired_ = false;
  bool verdict_given_ = false;
  // HTTP checks only, for the duration of one check.
  std::string request_;
  std::unique_ptr<proto::http1::ResponseParser> parser_;
  std::string body_;
  uint16_t status_ = 0;

  friend class HealthChecker;
};

HealthChecker::HealthChecker(core::EventLoop& loop, uint64_t seed) : loop_(loop), rng_(seed) {}

HealthChecker::~HealthChecker() = default;

uint64_t HealthChecker::nextRandom() { return core::splitMix64(rng_); }

uint64_t HealthChecker::jittered(const config::HealthCheck& check) {
  const auto base = static_cast<double>(check.interval.count());
  const double unit = static_cast<double>(nextRandom() >> kMantissaShift) / kTwoPow53;  // [0,1)
  const double factor = 1.0 + check.jitter * (2.0 * unit - 1.0);
  const double ms = base * factor;
  return ms < 1.0 ? 1 : static_cast<uint64_t>(ms);
}

void HealthChecker::setTargets(std::vector<HealthTarget> targets) {
  std::vector<std::unique_ptr<Probe>> next;
  for (auto& t : targets) {
    if (t.check.type == config::HealthCheckType::kNone) {
      continue;
    }
    std::unique_ptr<Probe> probe;
    for (auto& old : probes_) {
      if (old && old->target().backend == t.backend) {
        probe = std::move(old);
        break;
      }
    }
    if (probe) {
      probe->setTarget(std::move(t));
    } else {
      probe = std::make_unique<Probe>(*this, std::move(t));
      // First checks spread over one interval so a big pool is not probed in one burst.
      const auto interval = static_cast<uint64_t>(probe->target().check.interval.count());
      probe->schedule(interval == 0 ? 0 : nextRandom() % interval);
    }
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
}

void HealthChecker::onProbeResult(Probe& p, bool ok, int err) {
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
  if (now_up == was_up) {
    if (!ok) {
      core::LogLine(core::LogLevel::kDebug, "health.check_failed")
          .str("pool", t.pool)
          .str("backend", state.name)
          .str("reason", strerror(err))
          .unum("fail_streak", p.fail_streak);
    }
    return;
  }
  state.healthy.store(now_up, std::memory_order_relaxed);
  t.generation->fetch_add(1, std::memory_order_release);
  ++state_changes_;
  {
    // Written before the callback runs: a log line is built in a per-thread buffer, so a
    // second line (the audit record) must not start while this one is open.
    auto line = core::LogLine(now_up ? core::LogLevel::kInfo : core::LogLevel::kWarn,
                              now_up ? "health.up" : "health.down");
    line.str("pool", t.pool).str("backend", state.name);
    if (now_up) {
      line.unum("successes", p.ok_streak);
    } else {
      line.str("reason", strerror(err)).unum("failures", p.fail_streak);
    }
  }
  if (on_change_) {
    on_change_(t, now_up, err);
  }
}

}  // namespace ballast::upstream
