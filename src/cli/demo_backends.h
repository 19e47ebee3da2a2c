// src/cli/demo_backends.h — `ballast demo`'s built-in HTTP backends: each answers every request
// with its name and a request counter, so balancing is visible from curl.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/fd.h"

namespace ballast::cli {

class DemoBackend {
 public:
  // Listens on 127.0.0.1 on an ephemeral port; port() says which.
  explicit DemoBackend(std::string name);
  ~DemoBackend();
  DemoBackend(const DemoBackend&) = delete;
  DemoBackend& operator=(const DemoBackend&) = delete;

  bool ok() const { return listen_.valid(); }
  uint16_t port() const { return port_; }

 private:
  void acceptLoop();
  void serve(int fd);

  std::string name_;
  core::Fd listen_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> requests_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex conns_mu_;  // demo only: guards the per-connection threads and their sockets
  std::vector<std::thread> conn_threads_;
  std::vector<int> conn_fds_;
};

}  // namespace ballast::cli
