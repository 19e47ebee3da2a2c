// src/core/line_writer.h — log lines written by a background thread, so a slow disk or a full
// pipe never stalls a worker: workers hand over whole lines through a bounded queue and, when it
// is full, drop the line and count it rather than wait.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace ballast::core {

class LineSink {
 public:
  virtual ~LineSink() = default;
  // Any thread. Never blocks on I/O.
  virtual void write(std::string&& line) = 0;
};

class AsyncLineWriter final : public LineSink {
 public:
  // "stdout", or a file path opened for appending (created 0640 if missing). nullptr and
  // `error` set when the file cannot be opened.
  static std::unique_ptr<AsyncLineWriter> open(const std::string& destination, std::string* error);
  ~AsyncLineWriter() override;
  AsyncLineWriter(const AsyncLineWriter&) = delete;
  AsyncLineWriter& operator=(const AsyncLineWriter&) = delete;

  void write(std::string&& line) override;
  uint64_t dropped() const;
  // Reopens the file on the writer thread (after logrotate moved it); no-op for stdout.
  void reopen();

 private:
  AsyncLineWriter(int fd, bool owns_fd, std::string path);
  void run();

  int fd_;
  std::string path_;
  bool reopen_ = false;
  bool owns_fd_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  uint64_t dropped_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

// One writer per destination for the life of the process (reloads keep writing to the same
// one). Control or worker threads; nullptr and `error` when it cannot be opened.
LineSink* sharedLineWriter(const std::string& destination, std::string* error);
// SIGUSR1: every shared file writer reopens its file.
void reopenSharedLineWriters();

}  // namespace ballast::core
