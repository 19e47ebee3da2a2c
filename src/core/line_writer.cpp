// src/core/line_writer.cpp — the background log writer.
#include "core/line_writer.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

namespace ballast::core {
namespace {
// Lines waiting for the disk before new ones are dropped: a few seconds of a busy proxy.
constexpr size_t kMaxQueuedLines = 64 * 1024;
constexpr mode_t kLogFileMode = 0640;
}  // namespace

std::unique_ptr<AsyncLineWriter> AsyncLineWriter::open(const std::string& destination,
                                                       std::string* error) {
  if (destination == "stdout") {
    return std::unique_ptr<AsyncLineWriter>(
        new AsyncLineWriter(STDOUT_FILENO, false, ""));  // NOLINT
  }
  const int fd =
      ::open(destination.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, kLogFileMode);
  if (fd < 0) {
    *error = destination + ": " + strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<AsyncLineWriter>(new AsyncLineWriter(fd, true, destination));  // NOLINT
}

AsyncLineWriter::AsyncLineWriter(int fd, bool owns_fd, std::string path)
    : fd_(fd), path_(std::move(path)), owns_fd_(owns_fd), thread_(&AsyncLineWriter::run, this) {}

void AsyncLineWriter::reopen() {
  {
    std::lock_guard lock(mu_);
    if (!owns_fd_) {
      return;
    }
    reopen_ = true;
  }
  cv_.notify_one();
}

AsyncLineWriter::~AsyncLineWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
  if (owns_fd_) {
    ::close(fd_);
  }
}

void AsyncLineWriter::write(std::string&& line) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueuedLines) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(line));
  }
  cv_.notify_one();
}

uint64_t AsyncLineWriter::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void AsyncLineWriter::run() {
  pthread_setname_np(pthread_self(), "log-writer");
  std::deque<std::string> batch;
  std::string buffer;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || reopen_ || !queue_.empty(); });
      if (queue_.empty() && stop_) {
        return;
      }
      batch.swap(queue_);
      if (reopen_) {
        reopen_ = false;
        // Only this thread writes fd_, so swapping it here needs no further care. If the
        // new file cannot be opened the old one keeps receiving lines.
        const int fd =
            ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, kLogFileMode);
        if (fd >= 0) {
          ::close(fd_);
          fd_ = fd;
        }
      }
    }
    buffer.clear();
    for (auto& line : batch) {
      buffer += line;
    }
    batch.clear();
    size_t off = 0;
    while (off < buffer.size()) {
      const ssize_t n = ::write(fd_, buffer.data() + off, buffer.size() - off);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;  // a full disk loses these lines; the next batch tries again
      }
      off += static_cast<size_t>(n);
    }
  }
}

namespace {
std::mutex g_writers_mu;
std::map<std::string, std::unique_ptr<AsyncLineWriter>>& writers() {
  static std::map<std::string, std::unique_ptr<AsyncLineWriter>> all;
  return all;
}
}  // namespace

void reopenSharedLineWriters() {
  std::lock_guard lock(g_writers_mu);
  for (auto& [dest, w] : writers()) {
    if (w) {
      w->reopen();
    }
  }
}

LineSink* sharedLineWriter(const std::string& destination, std::string* error) {
  std::lock_guard lock(g_writers_mu);
  auto& w = writers()[destination];
  if (!w) {
    w = AsyncLineWriter::open(destination, error);
  }
  return w.get();
}

}  // namespace ballast::core
