// src/control/log_outputs.cpp — log file and GELF shipping.
#include "control/log_outputs.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/log.h"

namespace ballast::control {
namespace {

constexpr mode_t kLogFileMode = 0640;
constexpr size_t kMaxGelfDatagram = 8192;  // unchunked GELF; larger lines are dropped, counted
constexpr int kSyslogError = 3;
constexpr int kSyslogWarning = 4;
constexpr int kSyslogInfo = 6;
constexpr int kSyslogDebug = 7;

std::atomic<int> g_gelf_fd{-1};
std::atomic<uint64_t> g_gelf_dropped{0};
char g_host[256] = "ballast";  // NOLINT: set once before the tap is installed

int syslogLevel(core::LogLevel level) {
  switch (level) {
    case core::LogLevel::kError:
      return kSyslogError;
    case core::LogLevel::kWarn:
      return kSyslogWarning;
    case core::LogLevel::kDebug:
      return kSyslogDebug;
    default:
      return kSyslogInfo;
  }
}

// Runs on whichever thread logged; must not log itself.
void gelfTap(std::string_view line, core::LogLevel level) {
  const int fd = g_gelf_fd.load(std::memory_order_acquire);
  if (fd < 0) {
    return;
  }
  while (!line.empty() && line.back() == '\n') {
    line.remove_suffix(1);
  }
  nlohmann::json out = {{"version", "1.1"}, {"host", g_host}, {"level", syslogLevel(level)}};
  constexpr double kMsPerSecond = 1000.0;
  out["timestamp"] = static_cast<double>(core::unixMs()) / kMsPerSecond;
  const auto in = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (in.is_object()) {
    out["short_message"] = in.value("event", std::string("log"));
    for (const auto& [k, v] : in.items()) {
      if (k == "time" || k == "level" || k == "event") {
        continue;
      }
      out[k == "id" ? "_id_" : "_" + k] = v;  // GELF reserves _id
    }
  } else {
    out["short_message"] = std::string(line);
  }
  const std::string datagram = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (datagram.size() > kMaxGelfDatagram ||
      ::send(fd, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
    g_gelf_dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace

uint64_t gelfDropped() { return g_gelf_dropped.load(std::memory_order_relaxed); }

LogOutputs::~LogOutputs() {
  core::setLogTap(nullptr);
  const int gelf = g_gelf_fd.exchange(-1);
  if (gelf >= 0) {
    ::close(gelf);
  }
  if (fd_ >= 0) {
    core::setLogFd(STDERR_FILENO);
    ::close(fd_);
  }
  if (retired_fd_ >= 0) {
    ::close(retired_fd_);
  }
}

bool LogOutputs::openFile(std::string* error) {
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, kLogFileMode);
  if (fd < 0) {
    *error = path_ + ": " + std::strerror(errno);
    return false;
  }
  core::setLogFd(fd);
  if (retired_fd_ >= 0) {
    ::close(retired_fd_);
  }
  retired_fd_ = fd_;
  fd_ = fd;
  return true;
}

bool LogOutputs::apply(const config::Logging& logging, std::string* error) {
  bool ok = true;
  if (logging.file != path_) {
    path_ = logging.file;
    if (path_.empty()) {
      core::setLogFd(STDERR_FILENO);
    } else {
      ok = openFile(error);
    }
  }
  const std::string target = logging.gelf ? logging.gelf->toString() : "";
  if (target != gelf_target_) {
    gelf_target_ = target;
    int fd = -1;
    if (logging.gelf) {
      fd = ::socket(logging.gelf->family(), SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd >= 0 && ::connect(fd, logging.gelf->sockaddrPtr(), logging.gelf->length()) != 0) {
        ::close(fd);
        fd = -1;
      }
      if (fd < 0) {
        *error = "gelf " + target + ": " + std::strerror(errno);
        ok = false;
      }
      ::gethostname(g_host, sizeof(g_host) - 1);
    }
    const int old = g_gelf_fd.exchange(fd, std::memory_order_acq_rel);
    core::setLogTap(fd >= 0 ? &gelfTap : nullptr);
    if (old >= 0) {
      ::close(old);
    }
  }
  return ok;
}

void LogOutputs::reopen() {
  std::string error;
  if (!path_.empty() && !openFile(&error)) {
    core::LogLine(core::LogLevel::kError, "log.reopen_failed").str("reason", error);
  }
}

}  // namespace ballast::control
