// src/core/log.h — structured application log: one JSON (or text) line per event on stderr.
// Each line is built in a thread-local string and written with one write(2), so lines from
// different workers never interleave and no lock is taken.
#pragma once

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

// Usage: LogLine(LogLevel::kWarn, "health.down").str("backend", addr).num("fails", 3);
// The line is written when the temporary dies. Events are named `area.what`.
class LineSink;

class LogLine {
 public:
  LogLine(LogLevel level, std::string_view event);
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
