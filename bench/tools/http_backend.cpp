// bench/tools/http_backend.cpp — the HTTP/1.1 backend for bench/http_bench.py.
// Standalone on purpose (no project headers), like tcpload: it must not share code, or bugs, with
// the proxy it measures. One thread on level-triggered epoll: it shares CPU 0 with wrk, so each
// request must cost it as little as possible.
//
//   http_backend --port P [--port P2 ...] [--bind 127.0.0.1] [--cache-control VALUE]
//                [--body-bytes N]
//
// Every request, whatever its method and target, gets `200 OK` with a fixed 64-byte body and
// Content-Length (HEAD: the head only), and `Cache-Control: VALUE` when asked (the cache bench).
// Connections stay open unless the request says otherwise
// (`Connection: close`, or HTTP/1.0 without `Connection: keep-alive`). Request bodies with
// Content-Length are read and discarded, and answered once read whole; chunked request bodies get
// 501 and a close (the bench never sends one). Pipelined requests are answered in order.
//
// Prints "ready PORT..." once listening (port 0 binds an ephemeral port). On SIGUSR1 it prints
// `stats {"accepted":[A1,A2...],"requests":[R1,R2...]}`, per port and since start, so the harness
// can tell how many backend connections a proxy opened for how many requests. SIGTERM and SIGINT
// exit 0.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kListenBacklog = 4096;
constexpr int kMaxEvents = 256;
constexpr size_t kReadBytes = size_t{16} * 1024;
constexpr size_t kMaxHeadBytes = size_t{64} * 1024;  // larger → 431 and close
constexpr size_t kCompactAfter = 4096;  // drop consumed input bytes once this many pile up
constexpr uint64_t kSignalKey = UINT64_MAX;
constexpr int kExitUsage = 2;

// 64 bytes: 63 printable ones and a newline.
constexpr std::string_view kBody =
    "ballast-bench-backend-0123456789abcdefghijklmnopqrstuvwxyzABCDE\n";
static_assert(kBody.size() == 64);
constexpr std::string_view kHead200 =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n";

// "Cache-Control: VALUE\r\n" when --cache-control is given; set once in main.
std::string g_cache_control;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)
// --body-bytes N: the head and body of a larger answer (text lines, compressible like HTML or
// JSON, for the compression bench); empty: the 64-byte one. Set once in main.
std::string g_head;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)
std::string g_body;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "http_backend: %s: %s\n", what, std::strerror(errno));  // NOLINT
  std::exit(1);  // NOLINT(concurrency-mt-unsafe)
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "http_backend: %s\nusage: http_backend --port P [--port P2 ...] [--bind IP] "
               "[--cache-control V]\n",
               why);
  std::exit(kExitUsage);  // NOLINT(concurrency-mt-unsafe)
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) {
    return false;
  }
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (iequals(hay.substr(i, needle.size()), needle)) {
      return true;
    }
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

struct Head {
  bool ok = false;
  bool head_method = false;
  bool keep_alive = true;
  bool chunked = false;
  uint64_t content_length = 0;
};

struct Conn {
  int fd = -1;
  size_t port = 0;  // index into the listeners
  std::string in;
  size_t in_off = 0;
  uint64_t body_left = 0;  // request body bytes still to discard
  Head owed;               // the request whose body is being read: answered once it is in
  std::string out;
  size_t out_off = 0;
  bool close_after = false;  // close once out is flushed; further input is ignored
  bool writing = false;      // waiting for EPOLLOUT (reading paused)
};

Head parseHead(std::string_view head) {
  Head h;
  const size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    return h;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.1") {
    h.keep_alive = true;
  } else if (version == "HTTP/1.0") {
    h.keep_alive = false;
  } else {
    return h;
  }
  h.head_method = method == "HEAD";
  size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) {
      end = head.size();
    }
    const std::string_view field = head.substr(pos, end - pos);
    pos = end + 2;
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = trim(field.substr(colon + 1));
    if (iequals(name, "content-length")) {
      char* stop = nullptr;
      const std::string v(value);
      h.content_length = std::strtoull(v.c_str(), &stop, 10);
      if (stop == v.c_str() || *stop != '\0') {
        return h;
      }
    } else if (iequals(name, "transfer-encoding")) {
      h.chunked = icontains(value, "chunked");
    } else if (iequals(name, "connection")) {
      if (icontains(value, "close")) {
        h.keep_alive = false;
      } else if (icontains(value, "keep-alive")) {
        h.keep_alive = true;
      }
    }
  }
  h.ok = true;
  return h;
}

class Server {
 public:
  Server(std::vector<int> listeners, int sig_fd) : listeners_(std::move(listeners)), sig_(sig_fd) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
      die("epoll_create1");
    }
    accepted_.assign(listeners_.size(), 0);
    requests_.assign(listeners_.size(), 0);
    ctl(EPOLL_CTL_ADD, sig_, EPOLLIN, kSignalKey);
    for (size_t i = 0; i < listeners_.size(); ++i) {
      ctl(EPOLL_CTL_ADD, listeners_[i], EPOLLIN, listenerKey(i));
    }
  }

  int run() {
    std::array<epoll_event, kMaxEvents> events{};
    for (;;) {
      const int n = epoll_wait(ep_, events.data(), kMaxEvents, -1);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        die("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        const uint64_t key = events[i].data.u64;
        if (key == kSignalKey) {
          if (onSignal()) {
            return 0;
          }
        } else if (key >= kListenerBase) {
          onAccept(static_cast<size_t>(key - kListenerBase));
        } else {
          onConn(static_cast<int>(key), events[i].events);
        }
      }
    }
  }

 private:
  static constexpr uint64_t kListenerBase = uint64_t{1} << 32;
  static uint64_t listenerKey(size_t i) { return kListenerBase + i; }

  void ctl(int op, int fd, uint32_t events, uint64_t key) const {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key;
    if (epoll_ctl(ep_, op, fd, &ev) != 0) {
      die("epoll_ctl");
    }
  }

  // true: stop.
  bool onSignal() {
    signalfd_siginfo si{};
    while (read(sig_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      if (si.ssi_signo != SIGUSR1) {
        return true;
      }
      printStats();
    }
    return false;
  }

  void printStats() const {
    std::string out = "stats {\"accepted\":[";
    for (size_t i = 0; i < accepted_.size(); ++i) {
      out += (i ? "," : "") + std::to_string(accepted_[i]);
    }
    out += "],\"requests\":[";
    for (size_t i = 0; i < requests_.size(); ++i) {
      out += (i ? "," : "") + std::to_string(requests_[i]);
    }
    out += "]}\n";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
  }

  void onAccept(size_t port) {
    for (;;) {
      const int fd = accept4(listeners_[port], nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED && !warned_accept_) {
          std::fprintf(stderr, "http_backend: accept: %s\n", std::strerror(errno));  // NOLINT
          warned_accept_ = true;
        }
        return;
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (static_cast<size_t>(fd) >= conns_.size()) {
        conns_.resize(static_cast<size_t>(fd) + 1);
      }
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->port = port;
      conns_[static_cast<size_t>(fd)] = std::move(c);
      ++accepted_[port];
      ctl(EPOLL_CTL_ADD, fd, EPOLLIN, static_cast<uint64_t>(fd));
    }
  }

  void close(Conn& c) {
    const int fd = c.fd;
    ::close(fd);  // also drops it from the epoll set
    conns_[static_cast<size_t>(fd)].reset();
  }

  void onConn(int fd, uint32_t events) {
    if (static_cast<size_t>(fd) >= conns_.size() || !conns_[static_cast<size_t>(fd)]) {
      return;
    }
    Conn& c = *conns_[static_cast<size_t>(fd)];
    if (c.writing) {
      if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
        flushAndContinue(c);
      }
      return;
    }
    std::array<char, kReadBytes> buf{};
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n == 0) {
      close(c);
      return;
    }
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) {
        close(c);
      }
      return;
    }
    c.in.append(buf.data(), static_cast<size_t>(n));
    handleInput(c);
    flushAndContinue(c);
  }

  // Answers every complete request in c.in, appending the responses to c.out.
  void handleInput(Conn& c) {
    while (!c.close_after) {
      const size_t avail = c.in.size() - c.in_off;
      if (c.body_left > 0) {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(c.body_left, avail));
        c.in_off += take;
        c.body_left -= take;
        if (c.body_left > 0) {
          break;
        }
        answer(c, c.owed);  // as a server that reads the whole request before it answers
        continue;
      }
      const std::string_view rest = std::string_view(c.in).substr(c.in_off);
      const size_t end = rest.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        if (rest.size() > kMaxHeadBytes) {
          respondError(c, "431 Request Header Fields Too Large");
        }
        break;
      }
      const Head h = parseHead(rest.substr(0, end));
      c.in_off += end + 4;
      if (!h.ok) {
        respondError(c, "400 Bad Request");
        break;
      }
      if (h.chunked) {
        respondError(c, "501 Not Implemented");
        break;
      }
      ++requests_[c.port];
      c.body_left = h.content_length;
      if (c.body_left > 0) {
        c.owed = h;
      } else {
        answer(c, h);
      }
    }
    if (c.in_off == c.in.size()) {
      c.in.clear();
      c.in_off = 0;
    } else if (c.in_off >= kCompactAfter) {
      c.in.erase(0, c.in_off);
      c.in_off = 0;
    }
  }

  static void answer(Conn& c, const Head& h) {
    c.out += g_body.empty() ? kHead200 : std::string_view(g_head);
    c.out += g_cache_control;
    if (!h.keep_alive) {
      c.out += "Connection: close\r\n";
      c.close_after = true;
    }
    c.out += "\r\n";
    if (!h.head_method) {
      c.out += g_body.empty() ? kBody : std::string_view(g_body);
    }
  }

  static void respondError(Conn& c, std::string_view status) {
    c.out += "HTTP/1.1 ";
    c.out += status;
    c.out += "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    c.close_after = true;
  }

  // Sends what c.out holds; waits for EPOLLOUT (not reading meanwhile) if the socket is full,
  // closes when a closing response is out.
  void flushAndContinue(Conn& c) {
    while (c.out_off < c.out.size()) {
      const ssize_t w =
          send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN || errno == EINTR) {
          if (!c.writing) {
            c.writing = true;
            ctl(EPOLL_CTL_MOD, c.fd, EPOLLOUT, static_cast<uint64_t>(c.fd));
          }
          return;
        }
        close(c);
        return;
      }
      c.out_off += static_cast<size_t>(w);
    }
    c.out.clear();
    c.out_off = 0;
    if (c.close_after) {
      close(c);
      return;
    }
    if (c.writing) {
      c.writing = false;
      ctl(EPOLL_CTL_MOD, c.fd, EPOLLIN, static_cast<uint64_t>(c.fd));
      handleInput(c);  // requests that arrived while writing was blocked
      if (!c.out.empty()) {
        flushAndContinue(c);
      }
    }
  }

  std::vector<int> listeners_;
  int sig_;
  int ep_ = -1;
  std::vector<std::unique_ptr<Conn>> conns_;  // indexed by fd: fds are dense
  std::vector<uint64_t> accepted_;
  std::vector<uint64_t> requests_;
  bool warned_accept_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> ports;
  std::string bind_ip = "127.0.0.1";
  for (int i = 1; i < argc; i += 2) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) {
      usage(("missing value for " + std::string(a)).c_str());
    }
    if (a == "--port") {
      ports.emplace_back(argv[i + 1]);
    } else if (a == "--bind") {
      bind_ip = argv[i + 1];
    } else if (a == "--body-bytes") {
      const size_t n =
          std::strtoull(argv[i + 1], nullptr, 10);  // NOLINT(readability-magic-numbers)
      for (size_t line = 0; g_body.size() < n; ++line) {
        g_body += "line " + std::to_string(line) +
                  ": the quick brown fox jumps over the lazy dog " +
                  std::to_string(line * 7919 % 10007) + "\n";
      }
      g_body.resize(n);
      g_head =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(n) +
          "\r\n";
    } else if (a == "--cache-control") {
      g_cache_control = "Cache-Control: " + std::string(argv[i + 1]) + "\r\n";
    } else {
      usage(("unknown argument " + std::string(a)).c_str());
    }
  }
  if (ports.empty()) {
    usage("needs --port");
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    die("pthread_sigmask");
  }
  const int sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_fd < 0) {
    die("signalfd");
  }

  std::vector<int> listeners;
  std::string ready = "ready";
  for (const auto& p : ports) {
    char* end = nullptr;
    const unsigned long port = std::strtoul(p.c_str(), &end, 10);
    if (end == p.c_str() || *end != '\0' || port > UINT16_MAX) {
      usage(("bad --port " + p).c_str());
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, bind_ip.c_str(), &sa.sin_addr) != 1) {
      usage("--bind wants an IPv4 literal");
    }
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        listen(fd, kListenBacklog) != 0) {
      die(("listen on port " + p).c_str());
    }
    socklen_t len = sizeof sa;
    getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    ready += " " + std::to_string(ntohs(sa.sin_port));
    listeners.push_back(fd);
  }
  std::printf("%s\n", ready.c_str());
  std::fflush(stdout);
  return Server(std::move(listeners), sig_fd).run();
}
