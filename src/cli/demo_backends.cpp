// src/cli/demo_backends.cpp — tiny blocking HTTP/1.1 servers on our own parser, one thread per
// connection: a demo, not a data path.
#include "cli/demo_backends.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>

#include "proto/http1/request_parser.h"

namespace ballast::cli {
namespace {
constexpr int kPollMs = 200;  // how quickly the accept loop notices a stop
constexpr size_t kReadBytes = 16 * 1024;
constexpr int kBacklog = 128;
}  // namespace

DemoBackend::DemoBackend(std::string name) : name_(std::move(name)) {
  listen_.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (!listen_.valid() || bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(listen_.get(), kBacklog) != 0 ||
      getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    listen_.reset();
    return;
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread(&DemoBackend::acceptLoop, this);
}

DemoBackend::~DemoBackend() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join();
  }
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(conns_mu_);
    for (int fd : conn_fds_) {
      ::shutdown(fd, SHUT_RDWR);  // wakes a read() blocked in serve()
    }
    threads.swap(conn_threads_);
  }
  for (auto& t : threads) {
    t.join();
  }
}

void DemoBackend::acceptLoop() {
  while (!stop_) {
    pollfd p{listen_.get(), POLLIN, 0};
    if (poll(&p, 1, kPollMs) <= 0) {
      continue;
    }
    const int fd = accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      std::lock_guard lock(conns_mu_);
      conn_fds_.push_back(fd);
      conn_threads_.emplace_back(&DemoBackend::serve, this, fd);
    }
  }
}

void DemoBackend::serve(int fd) {
  // The fd stays open until the destructor has joined this thread (it may shut it down).
  proto::http1::RequestParser parser;
  std::array<uint8_t, kReadBytes> buf{};
  while (!stop_) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n <= 0) {
      return;
    }
    std::span<const uint8_t> in(buf.data(), static_cast<size_t>(n));
    bool keep_alive = true;
    for (;;) {
      const auto p = parser.next(in);
      in = in.subspan(p.consumed);
      if (p.event == proto::http1::Event::kHead) {
        keep_alive = parser.head().keep_alive;
      } else if (p.event == proto::http1::Event::kMessageEnd) {
        const uint64_t count = ++requests_;
        std::array<char, 128> body{};
        const int body_len = snprintf(body.data(), body.size(), "%s request %llu\n", name_.c_str(),
                                      static_cast<unsigned long long>(count));
        // One write for head and body: two small writes meet Nagle and delayed ACK (40 ms).
        std::array<char, 512> response{};
        const int len = snprintf(
            response.data(), response.size(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s",
            body_len, keep_alive ? "" : "Connection: close\r\n", body.data());
        if (::write(fd, response.data(), static_cast<size_t>(len)) != len || !keep_alive) {
          return;
        }
      } else if (p.event == proto::http1::Event::kNeedMore) {
        break;
      } else if (p.event == proto::http1::Event::kError ||
                 p.event == proto::http1::Event::kTunnel ||
                 p.event == proto::http1::Event::kClosed) {
        return;
      }
    }
  }
}

}  // namespace ballast::cli
