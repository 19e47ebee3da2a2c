// src/core/log.cpp — JSON/text log lines written atomically to one fd.
#include "core/log.h"

#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>

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

LogLine::LogLine(LogLevel level, std::string_view event)
    : enabled_(logEnabled(level)), level_(level), line_(&threadLine()) {
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
