// src/core/log.cpp — JSON/text log lines written atomically to one fd.
#include "core/log.h"

#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>

#include "core/clock.h"
#include "core/limits.h"
#include "core/line_writer.h"

namespace ballast::core {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<bool> g_json{true};
std::atomic<int> g_fd{STDERR_FILENO};
std::atomic<LogTap> g_tap{nullptr};

constexpr std::array<std::string_view, 4> kLevelNames = {"debug", "info", "warn", "error"};
constexpr size_t kTimeBufBytes = 64;
constexpr long kNsPerMicro = 1000;
constexpr unsigned kControlCharLimit = 0x20;

constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

RepeatLimiter& repeatLimiter() {
  static RepeatLimiter limiter(kLogRepeatBurst, kLogRepeatIntervalMs);
  return limiter;
}

void writeSummary(std::string_view kind, uint64_t suppressed) {
  LogLine(LogLevel::kWarn, "log.suppressed")
      .str("kind", kind)
      .unum("suppressed", suppressed)
      .unum("interval_ms", repeatLimiter().intervalMs());
}

std::string& threadLine() {
  thread_local std::string line;
  return line;
}

void appendTime(std::string& out) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm parts{};
  gmtime_r(&ts.tv_sec, &parts);
  std::array<char, kTimeBufBytes> buf{};
  size_t n = strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &parts);
  n += static_cast<size_t>(
      snprintf(buf.data() + n, buf.size() - n, ".%06ldZ", ts.tv_nsec / kNsPerMicro));
  out.append(buf.data(), n);
}

}  // namespace

void RepeatLimiter::configure(uint32_t burst, uint64_t interval_ms) {
  burst_.store(burst, std::memory_order_relaxed);
  interval_ms_.store(interval_ms, std::memory_order_relaxed);
}

RepeatLimiter::Slot* RepeatLimiter::slotFor(std::string_view event) {
  uint64_t key = kFnvOffset;
  for (const char c : event) {
    key = (key ^ static_cast<unsigned char>(c)) * kFnvPrime;
  }
  key |= 1;  // never 0, which marks a free slot
  for (size_t i = 0; i < kMaxKinds; ++i) {
    Slot& s = slots_[(key + i) % kMaxKinds];
    uint64_t seen = s.key.load(std::memory_order_acquire);
    if (seen == 0 && s.key.compare_exchange_strong(seen, key, std::memory_order_acq_rel)) {
      s.len.store(event.size(), std::memory_order_relaxed);
      s.name.store(event.data(), std::memory_order_release);
      return &s;
    }
    if (seen == key) {
      return &s;
    }
  }
  return nullptr;
}

uint64_t RepeatLimiter::roll(Slot& s, uint64_t now_ms) {
  uint64_t start = s.window_start_ms.load(std::memory_order_relaxed);
  if (now_ms - start < interval_ms_.load(std::memory_order_relaxed) && start != 0) {
    return 0;
  }
  if (!s.window_start_ms.compare_exchange_strong(start, now_ms, std::memory_order_acq_rel)) {
    return 0;  // another thread started the new window
  }
  s.in_window.store(0, std::memory_order_relaxed);
  return s.suppressed.exchange(0, std::memory_order_acq_rel);
}

RepeatLimiter::Decision RepeatLimiter::admit(std::string_view event, uint64_t now_ms) {
  Slot* s = slotFor(event);
  if (s == nullptr) {
    return {true, 0};
  }
  Decision d;
  d.suppressed = roll(*s, now_ms);
  if (s->in_window.fetch_add(1, std::memory_order_relaxed) <
      burst_.load(std::memory_order_relaxed)) {
    d.write = true;
  } else {
    s->suppressed.fetch_add(1, std::memory_order_relaxed);
  }
  return d;
}

void setLogRepeatLimit(uint32_t burst, uint64_t interval_ms) {
  repeatLimiter().configure(burst, interval_ms);
}

uint64_t logRepeatIntervalMs() { return repeatLimiter().intervalMs(); }

void flushLogSummaries() {
  repeatLimiter().flush(monotonicMs(),
                        [](std::string_view kind, uint64_t n) { writeSummary(kind, n); });
}

void setLogLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }
void setLogJson(bool json) { g_json.store(json, std::memory_order_relaxed); }
void setLogFd(int fd) { g_fd.store(fd, std::memory_order_relaxed); }
void setLogTap(LogTap tap) { g_tap.store(tap, std::memory_order_release); }
bool logEnabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

void appendJsonEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < kControlCharLimit) {
      std::array<char, 8> esc{};
      snprintf(esc.data(), esc.size(), "\\u%04x", u);
      out.append(esc.data());
    } else {
      out.push_back(c);
    }
  }
}

LogLine::LogLine(LogLevel level, std::string_view event, LogRepeat repeat)
    : enabled_(logEnabled(level)), level_(level), line_(&threadLine()) {
  if (enabled_ && repeat == LogRepeat::kLimited) {
    const auto d = repeatLimiter().admit(event, monotonicMs());
    if (d.suppressed > 0) {
      writeSummary(event, d.suppressed);  // a whole line of its own, before this one begins
    }
    enabled_ = d.write;
  }
  if (enabled_) {
    begin(kLevelNames[static_cast<size_t>(level)], event);
  }
}

LogLine::LogLine(LineSink* sink, std::string_view event)
    : enabled_(true), line_(&threadLine()), sink_(sink) {
  begin("info", event);
}

void LogLine::begin(std::string_view level_name, std::string_view event) {
  line_->clear();
  if (g_json.load(std::memory_order_relaxed)) {
    line_->append("{\"time\":\"");
    appendTime(*line_);
    line_->append("\",\"level\":\"").append(level_name).append("\",\"event\":\"");
    appendJsonEscaped(*line_, event);
    line_->push_back('"');
  } else {
    appendTime(*line_);
    line_->append(" ").append(level_name).append(" ").append(event);
  }
}

LogLine::~LogLine() {
  if (!enabled_) {
    return;
  }
  if (g_json.load(std::memory_order_relaxed)) {
    line_->push_back('}');
  }
  line_->push_back('\n');
  if (sink_ != nullptr) {
    sink_->write(std::string(*line_));  // copied: the thread's buffer keeps its capacity
    return;
  }
  // One write per line keeps lines whole; a short write to a full pipe loses the tail only.
  const ssize_t n = ::write(g_fd.load(std::memory_order_relaxed), line_->data(), line_->size());
  (void)n;
  if (const LogTap tap = g_tap.load(std::memory_order_acquire)) {
    tap(*line_, level_);
  }
}

void LogLine::key(std::string_view k) {
  if (g_json.load(std::memory_order_relaxed)) {
    line_->append(",\"").append(k).append("\":");
  } else {
    line_->append(" ").append(k).append("=");
  }
}

LogLine& LogLine::str(std::string_view k, std::string_view value) {
  if (enabled_) {
    key(k);
    if (g_json.load(std::memory_order_relaxed)) {
      line_->push_back('"');
      appendJsonEscaped(*line_, value);
      line_->push_back('"');
    } else {
      line_->append(value);
    }
  }
  return *this;
}

LogLine& LogLine::num(std::string_view k, int64_t value) {
  if (enabled_) {
    key(k);
    line_->append(std::to_string(value));
  }
  return *this;
}

LogLine& LogLine::unum(std::string_view k, uint64_t value) {
  if (enabled_) {
    key(k);
    line_->append(std::to_string(value));
  }
  return *this;
}

LogLine& LogLine::real(std::string_view k, double value) {
  if (enabled_) {
    key(k);
    std::array<char, kTimeBufBytes> buf{};
    const int n = snprintf(buf.data(), buf.size(), "%.6g", value);
    line_->append(buf.data(), static_cast<size_t>(n));
  }
  return *this;
}

LogLine& LogLine::flag(std::string_view k, bool value) {
  if (enabled_) {
    key(k);
    line_->append(value ? "true" : "false");
  }
  return *this;
}

}  // namespace ballast::core
