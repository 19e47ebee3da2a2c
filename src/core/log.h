// src/core/log.h — structured application log: one JSON (or text) line per event on stderr.
// Each line is built in a thread-local string and written with one write(2), so lines from
// different workers never interleave and no lock is taken. Events a peer can cause at will
// (refusals, failed connects) are written through a per-kind repeat limit, so no flood of
// connections can fill a disk: the first few lines of a window, then one summary line.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace ballast::core {

enum class LogLevel : uint8_t { kDebug, kInfo, kWarn, kError };

void setLogLevel(LogLevel level);
void setLogJson(bool json);
bool logEnabled(LogLevel level);
// Sends log lines to `fd` instead of stderr (tests, log files). The caller keeps it open.
void setLogFd(int fd);
// Also hands every application log line (with its newline) to `tap`, on the logging thread
// (GELF shipping). nullptr stops it. The tap must be safe to call from any thread.
using LogTap = void (*)(std::string_view line, LogLevel level);
void setLogTap(LogTap tap);

// Repeat limit for LogRepeat::kLimited lines (every plane shares it): per event kind, at most
// `burst` lines per `interval_ms`; the rest are counted and reported by one `log.suppressed`
// line (fields `kind`, `suppressed`, `interval_ms`) once the window has passed.
void setLogRepeatLimit(uint32_t burst, uint64_t interval_ms);
// Writes the summary of every kind whose window has passed with lines held back. Lines of a
// kind that recurs write their own summary; the control thread calls this once per interval so
// a burst that stops is reported too. Any thread.
void flushLogSummaries();
uint64_t logRepeatIntervalMs();

enum class LogRepeat : uint8_t { kEvery, kLimited };

// The decision behind kLimited, with the clock injected (unit tests); lock-free, any thread.
// Kinds are keyed by name; past kMaxKinds distinct kinds every line is written.
class RepeatLimiter {
 public:
  static constexpr size_t kMaxKinds = 128;
  struct Decision {
    bool write = false;
    uint64_t suppressed = 0;  // lines of this kind held back in the window that just ended
  };
  RepeatLimiter(uint32_t burst, uint64_t interval_ms) { configure(burst, interval_ms); }
  void configure(uint32_t burst, uint64_t interval_ms);
  // `event` must outlive the limiter (a string literal).
  Decision admit(std::string_view event, uint64_t now_ms);
  // Calls report(kind, suppressed) for each kind whose window ended with lines held back.
  template <typename F>
  void flush(uint64_t now_ms, F&& report) {
    for (auto& s : slots_) {
      const char* name = s.name.load(std::memory_order_acquire);
      if (name == nullptr) {
        continue;
      }
      if (const uint64_t n = roll(s, now_ms); n > 0) {
        report(std::string_view(name, s.len.load(std::memory_order_relaxed)), n);
      }
    }
  }
  uint64_t intervalMs() const { return interval_ms_.load(std::memory_order_relaxed); }

 private:
  struct Slot {
    std::atomic<uint64_t> key{0};  // FNV-1a of the name; 0 = free
    std::atomic<const char*> name{nullptr};
    std::atomic<size_t> len{0};
    std::atomic<uint64_t> window_start_ms{0};
    std::atomic<uint32_t> in_window{0};
    std::atomic<uint64_t> suppressed{0};
  };
  Slot* slotFor(std::string_view event);
  // Starts a new window when the current one has passed; returns the lines it held back (only
  // to the one caller that started the new window).
  uint64_t roll(Slot& s, uint64_t now_ms);

  std::atomic<uint32_t> burst_{0};
  std::atomic<uint64_t> interval_ms_{0};
  std::array<Slot, kMaxKinds> slots_;
};

// Usage: LogLine(LogLevel::kWarn, "health.down").str("backend", addr).num("fails", 3);
// The line is written when the temporary dies. Events are named `area.what`.
class LineSink;

class LogLine {
 public:
  // With LogRepeat::kLimited, `event` must be a string literal (it names its repeat budget).
  LogLine(LogLevel level, std::string_view event, LogRepeat repeat = LogRepeat::kEvery);
  // To `sink` instead of the application log (the access log); written whatever the level.
  LogLine(LineSink* sink, std::string_view event);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  LogLine& str(std::string_view key, std::string_view value);
  LogLine& num(std::string_view key, int64_t value);
  LogLine& unum(std::string_view key, uint64_t value);
  LogLine& real(std::string_view key, double value);
  LogLine& flag(std::string_view key, bool value);

 private:
  void key(std::string_view k);
  void begin(std::string_view level_name, std::string_view event);
  bool enabled_;
  LogLevel level_ = LogLevel::kInfo;
  std::string* line_;
  LineSink* sink_ = nullptr;
};

// Appends `s` to `out` as the body of a JSON string (quotes not included).
void appendJsonEscaped(std::string& out, std::string_view s);

}  // namespace ballast::core
