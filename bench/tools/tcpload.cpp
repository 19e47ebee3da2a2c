// bench/tools/tcpload.cpp — backend and load generator for bench/l4_bench.py.
// Standalone on purpose (no project headers): it must not share code, or bugs, with the proxy it
// measures. Every mode is one thread on level-triggered epoll, so the generator and the backends
// fit together on the one core the harness leaves them; the other core belongs to the proxy.
//
//   tcpload serve    --port P [--port P2 ...] [--mode echo|sink|source] [--bind 127.0.0.1]
//   tcpload connrate --target H:P [--concurrency 64] [--duration 5] [--payload 64]
//   tcpload bulk     --target H:P [--bytes 1G] [--streams 4] [--direction up|down]
//   tcpload idle     --target H:P --count N [--in-flight 256] [--payload 16] [--stall-timeout 10]
//
// serve prints "ready PORT..." (port 0 binds an ephemeral port) and idle prints "ready {json}"
// once every connection is up, so callers wait on readiness instead of sleeping. The other
// modes print one JSON line. Sizes take binary suffixes: K, M, G (KiB, MiB, GiB).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kListenBacklog = 4096;  // connections; the kernel caps it at somaxconn
constexpr size_t kIoBufferBytes = size_t{256} * 1024;  // bytes per read/write call in bulk modes
constexpr int kMaxEvents = 512;                        // epoll events handled per wakeup
constexpr int kTickMs = 10;                // deadline and retry granularity of every loop
constexpr size_t kSourceHeaderBytes = 16;  // source request: 8-byte magic, le64 byte count
constexpr std::string_view kSourceMagic = "TCPLOAD1";
constexpr uint64_t kSignalKey = UINT64_MAX;     // epoll key of the signalfd
constexpr uint64_t kStdinKey = UINT64_MAX - 1;  // epoll key of stdin in idle's hold phase
constexpr int kExitUsage = 2;
// A stalled proxy must cost seconds, not the whole timeout: idle and bulk give up after this
// long without progress (a held connection, a byte moved).
constexpr double kDefaultStallSeconds = 10;

// errno names (ECONNRESET) rather than strerror text: shorter in JSON, and thread-safe.
std::string errName(int err) {
  if (const char* name = strerrorname_np(err)) {
    return name;
  }
  return "errno_" + std::to_string(err);
}

// Every mode is single-threaded, so exit() cannot race another thread's atexit work.
[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "tcpload: %s: %s\n", what, errName(errno).c_str());
  std::exit(1);  // NOLINT(concurrency-mt-unsafe)
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "tcpload: %s\nusage:\n"
               "  tcpload serve --port P [--port P2 ...] [--mode echo|sink|source] [--bind IP]\n"
               "  tcpload connrate --target H:P [--concurrency C] [--duration S] [--payload B]\n"
               "                   [--sources N] [--timeout S]\n"
               "  tcpload bulk --target H:P [--bytes N] [--streams K] [--direction up|down]\n"
               "               [--timeout S] [--stall-timeout S]\n"
               "  tcpload idle --target H:P --count N [--in-flight F] [--payload B] [--sources N]\n"
               "               [--timeout S] [--stall-timeout S]\n",
               why);
  std::exit(kExitUsage);  // NOLINT(concurrency-mt-unsafe)
}

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Keys are caller-chosen (an fd or a slot index); closing an fd drops it from the set, so there
// is no del().
class Epoll {
 public:
  Epoll() : fd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (!fd_.valid()) {
      die("epoll_create1");
    }
  }
  bool add(int fd, uint32_t events, uint64_t key) { return ctl(EPOLL_CTL_ADD, fd, events, key); }
  void mod(int fd, uint32_t events, uint64_t key) {
    if (!ctl(EPOLL_CTL_MOD, fd, events, key)) {
      die("epoll_ctl(MOD)");
    }
  }
  int wait(std::array<epoll_event, kMaxEvents>& events, int timeout_ms) {
    const int n = epoll_wait(fd_.get(), events.data(), kMaxEvents, timeout_ms);
    if (n < 0 && errno != EINTR) {
      die("epoll_wait");
    }
    return std::max(n, 0);
  }

 private:
  bool ctl(int op, int fd, uint32_t events, uint64_t key) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key;
    return epoll_ctl(fd_.get(), op, fd, &ev) == 0;
  }
  UniqueFd fd_;
};

// SIGTERM and SIGINT arrive as a readable fd, so every loop stops cleanly from its epoll wait.
UniqueFd stopSignalFd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    die("pthread_sigmask");
  }
  UniqueFd fd(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd.valid()) {
    die("signalfd");
  }
  return fd;
}

// The harness sizes runs against the hard limit (20,000 here), so take all of it.
void raiseFdLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

uint64_t fdLimit() {
  rlimit lim{};
  return getrlimit(RLIMIT_NOFILE, &lim) == 0 ? lim.rlim_cur : 0;
}

class Args {
 public:
  Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      const std::string_view a = argv[i];
      if (!a.starts_with("--") || i + 1 >= argc) {
        usage(("bad argument: " + std::string(a)).c_str());
      }
      flags_.emplace_back(a.substr(2), argv[++i]);
    }
  }
  std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : flags_) {
      if (k == name) {
        out.push_back(v);
      }
    }
    return out;
  }
  std::optional<std::string> get(std::string_view name) const {
    auto v = all(name);
    return v.empty() ? std::nullopt : std::optional(v.back());
  }
  std::string str(std::string_view name, std::string_view fallback) const {
    return get(name).value_or(std::string(fallback));
  }
  // Integer with an optional binary suffix K, M or G.
  uint64_t size(std::string_view name, uint64_t fallback) const {
    auto v = get(name);
    return v ? parseSize(*v) : fallback;
  }
  double real(std::string_view name, double fallback) const {
    auto v = get(name);
    if (!v) {
      return fallback;
    }
    char* end = nullptr;
    const double d = std::strtod(v->c_str(), &end);
    if (end == v->c_str() || *end != '\0' || d <= 0) {
      usage(("bad number: " + *v).c_str());
    }
    return d;
  }
  void requireKnown(std::initializer_list<std::string_view> known) const {
    for (const auto& [k, v] : flags_) {
      if (std::find(known.begin(), known.end(), k) == known.end()) {
        usage(("unknown flag --" + k).c_str());
      }
    }
  }

  static uint64_t parseSize(const std::string& s) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(s.c_str(), &end, 10);
    if (end == s.c_str()) {
      usage(("bad size: " + s).c_str());
    }
    const std::string_view suffix = end;
    constexpr uint64_t kKibi = 1024;
    if (suffix.empty()) {
      return n;
    }
    if (suffix == "K" || suffix == "KiB") {
      return n * kKibi;
    }
    if (suffix == "M" || suffix == "MiB") {
      return n * kKibi * kKibi;
    }
    if (suffix == "G" || suffix == "GiB") {
      return n * kKibi * kKibi * kKibi;
    }
    usage(("bad size suffix: " + s).c_str());
  }

 private:
  std::vector<std::pair<std::string, std::string>> flags_;
};

sockaddr_in parseTarget(const std::string& hp) {
  const auto colon = hp.rfind(':');
  if (colon == std::string::npos) {
    usage("--target wants host:port");
  }
  std::string host = hp.substr(0, colon);
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  const uint64_t port = Args::parseSize(hp.substr(colon + 1));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1 || port == 0 || port > UINT16_MAX) {
    usage("--target wants an IPv4 literal and a port");
  }
  sa.sin_port = htons(static_cast<uint16_t>(port));
  return sa;
}

// Spreads client sockets over 127.0.0.1..N when the target is loopback: ports are chosen per
// 4-tuple, so N sources give N times the ephemeral ports before TIME_WAIT recycling matters.
class SourcePicker {
 public:
  SourcePicker(const sockaddr_in& target, uint64_t count) {
    constexpr uint32_t kLoopbackNet = 0x7f000000;  // 127.0.0.0/8
    constexpr uint32_t kNetMask = 0xff000000;
    if ((ntohl(target.sin_addr.s_addr) & kNetMask) != kLoopbackNet || count <= 1) {
      return;
    }
    for (uint32_t i = 1; i <= count; ++i) {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_addr.s_addr = htonl(kLoopbackNet | i);
      sources_.push_back(sa);
    }
  }
  const sockaddr_in* next() {
    return sources_.empty() ? nullptr : &sources_[next_++ % sources_.size()];
  }

 private:
  std::vector<sockaddr_in> sources_;
  size_t next_ = 0;
};

// Starts a non-blocking connect; the caller waits for EPOLLOUT. Returns -errno on failure.
int startConnect(const sockaddr_in& target, const sockaddr_in* source) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -errno;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (source != nullptr) {
    // Defers the port choice to connect(), which can then reuse a port across destinations.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, reinterpret_cast<const sockaddr*>(source), sizeof *source) != 0) {
      const int err = errno;
      ::close(fd);
      return -err;
    }
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0 &&
      errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

// 0 when the pending connect succeeded, else the errno it failed with.
int connectError(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
    return errno;
  }
  return err;
}

std::string jsonCounts(const std::map<std::string, uint64_t>& counts) {
  std::string out = "{";
  for (const auto& [k, v] : counts) {
    if (out.size() > 1) {
      out += ",";
    }
    out += "\"" + k + "\":" + std::to_string(v);
  }
  return out + "}";
}

// ---- serve -------------------------------------------------------------------------------

enum class ServeMode : uint8_t { kEcho, kSink, kSource };

struct ServeConn {
  UniqueFd fd;
  std::string pending;     // echo: bytes the peer has not taken yet; reading pauses meanwhile
  size_t pending_off = 0;  // echo: first unsent byte of pending
  std::array<char, kSourceHeaderBytes> header{};
  size_t header_got = 0;  // source: request bytes read so far
  uint64_t to_send = 0;   // source: bytes still owed
};

// Each handler returns false when the connection is finished and must be closed.
bool echoReadable(ServeConn& c, Epoll& ep, std::vector<char>& buf) {
  const int fd = c.fd.get();
  for (;;) {
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n > 0) {
      ssize_t w = send(fd, buf.data(), static_cast<size_t>(n), MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN) {
        return false;
      }
      w = std::max<ssize_t>(w, 0);
      if (w < n) {
        c.pending.assign(buf.data() + w, static_cast<size_t>(n - w));
        c.pending_off = 0;
        ep.mod(fd, EPOLLOUT, static_cast<uint64_t>(fd));
        return true;
      }
      continue;
    }
    if (n == 0) {
      return false;  // reading only happens with nothing pending, so nothing is lost
    }
    return errno == EAGAIN || errno == EINTR;
  }
}

bool echoWritable(ServeConn& c, Epoll& ep) {
  const int fd = c.fd.get();
  while (c.pending_off < c.pending.size()) {
    const ssize_t w =
        send(fd, c.pending.data() + c.pending_off, c.pending.size() - c.pending_off, MSG_NOSIGNAL);
    if (w < 0) {
      return errno == EAGAIN || errno == EINTR;
    }
    c.pending_off += static_cast<size_t>(w);
  }
  c.pending.clear();
  c.pending_off = 0;
  ep.mod(fd, EPOLLIN, static_cast<uint64_t>(fd));
  return true;
}

bool sinkReadable(ServeConn& c, std::vector<char>& buf) {
  for (;;) {
    const ssize_t n = recv(c.fd.get(), buf.data(), buf.size(), 0);
    if (n > 0) {
      continue;
    }
    if (n == 0) {
      return false;  // closing tells the uploader, through the proxy, that all bytes arrived
    }
    return errno == EAGAIN || errno == EINTR;
  }
}

bool sourceWritable(ServeConn& c, const std::vector<char>& pattern) {
  while (c.to_send > 0) {
    const size_t chunk = std::min<uint64_t>(c.to_send, pattern.size());
    const ssize_t w = send(c.fd.get(), pattern.data(), chunk, MSG_NOSIGNAL);
    if (w < 0) {
      return errno == EAGAIN || errno == EINTR;
    }
    c.to_send -= static_cast<uint64_t>(w);
  }
  return false;  // all sent: close, and the kernel still delivers the queued bytes before FIN
}

bool sourceReadable(ServeConn& c, Epoll& ep, const std::vector<char>& pattern) {
  const int fd = c.fd.get();
  if (c.header_got == kSourceHeaderBytes) {
    return true;  // header done; extra bytes are not expected and are left unread
  }
  const ssize_t n = recv(fd, c.header.data() + c.header_got, kSourceHeaderBytes - c.header_got, 0);
  if (n == 0) {
    return false;
  }
  if (n < 0) {
    return errno == EAGAIN || errno == EINTR;
  }
  c.header_got += static_cast<size_t>(n);
  if (c.header_got < kSourceHeaderBytes) {
    return true;
  }
  if (std::string_view(c.header.data(), kSourceMagic.size()) != kSourceMagic) {
    return false;
  }
  uint64_t size_le = 0;
  std::memcpy(&size_le, c.header.data() + kSourceMagic.size(), sizeof size_le);
  c.to_send = le64toh(size_le);
  ep.mod(fd, EPOLLOUT, static_cast<uint64_t>(fd));
  return sourceWritable(c, pattern);
}

int runServe(const Args& args) {
  args.requireKnown({"port", "mode", "bind"});
  const std::string mode_name = args.str("mode", "echo");
  ServeMode mode = ServeMode::kEcho;
  if (mode_name == "sink") {
    mode = ServeMode::kSink;
  } else if (mode_name == "source") {
    mode = ServeMode::kSource;
  } else if (mode_name != "echo") {
    usage("--mode is echo, sink or source");
  }
  const auto ports = args.all("port");
  if (ports.empty()) {
    usage("serve needs --port");
  }
  const std::string bind_ip = args.str("bind", "127.0.0.1");

  Epoll ep;
  UniqueFd sig = stopSignalFd();
  ep.add(sig.get(), EPOLLIN, kSignalKey);

  std::vector<UniqueFd> listeners;
  std::string ready = "ready";
  for (const auto& p : ports) {
    sockaddr_in sa = parseTarget(bind_ip + ":1");
    const uint64_t port = Args::parseSize(p);
    if (port > UINT16_MAX) {
      usage("bad --port");
    }
    sa.sin_port = htons(static_cast<uint16_t>(port));
    UniqueFd lfd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const int one = 1;
    setsockopt(lfd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        listen(lfd.get(), kListenBacklog) != 0) {
      die(("listen on port " + p).c_str());
    }
    socklen_t len = sizeof sa;
    getsockname(lfd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
    ready += " " + std::to_string(ntohs(sa.sin_port));
    ep.add(lfd.get(), EPOLLIN, static_cast<uint64_t>(lfd.get()));
    listeners.push_back(std::move(lfd));
  }
  std::printf("%s\n", ready.c_str());
  std::fflush(stdout);

  std::vector<char> buf(kIoBufferBytes);
  const std::vector<char> pattern(kIoBufferBytes, 'x');
  std::vector<std::unique_ptr<ServeConn>> by_fd;  // indexed by fd: O(1) and fds are dense
  auto is_listener = [&](int fd) {
    return std::any_of(listeners.begin(), listeners.end(),
                       [fd](const UniqueFd& l) { return l.get() == fd; });
  };
  bool warned_accept = false;
  std::array<epoll_event, kMaxEvents> events{};
  for (;;) {
    const int n = ep.wait(events, -1);
    for (int i = 0; i < n; ++i) {
      const uint64_t key = events[i].data.u64;
      if (key == kSignalKey) {
        return 0;
      }
      const int fd = static_cast<int>(key);
      if (is_listener(fd)) {
        for (;;) {
          const int cfd = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED && !warned_accept) {
              std::fprintf(stderr, "tcpload: accept: %s\n", errName(errno).c_str());
              warned_accept = true;  // once: EMFILE would otherwise flood the log
            }
            break;
          }
          const int one = 1;
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (static_cast<size_t>(cfd) >= by_fd.size()) {
            by_fd.resize(static_cast<size_t>(cfd) * 2 + 1);
          }
          by_fd[cfd] = std::make_unique<ServeConn>();
          by_fd[cfd]->fd.reset(cfd);
          ep.add(cfd, EPOLLIN, static_cast<uint64_t>(cfd));
        }
        continue;
      }
      ServeConn* c = by_fd[fd].get();
      if (c == nullptr) {
        continue;  // closed earlier in this batch
      }
      bool keep = true;
      const uint32_t ev = events[i].events;
      switch (mode) {
        case ServeMode::kEcho:
          keep = c->pending.empty() ? echoReadable(*c, ep, buf) : echoWritable(*c, ep);
          break;
        case ServeMode::kSink:
          keep = sinkReadable(*c, buf);
          break;
        case ServeMode::kSource:
          if (c->header_got < kSourceHeaderBytes) {
            keep = sourceReadable(*c, ep, pattern);
          } else {
            keep = (ev & (EPOLLERR | EPOLLHUP)) == 0 && sourceWritable(*c, pattern);
          }
          break;
      }
      if (!keep) {
        by_fd[fd].reset();
      }
    }
  }
}

// ---- echo clients: connrate and idle -------------------------------------------------------

enum class Step : uint8_t { kPending, kDone, kFailed };

// One client connection doing connect, send payload, read the same bytes back.
struct EchoConn {
  UniqueFd fd;
  Clock::time_point started;
  size_t sent = 0;
  size_t got = 0;
  bool connected = false;
  bool held = false;  // idle: round trip done, now only watched for the peer closing
  std::string error;  // why it failed, when advance() returned kFailed
};

Step advance(EchoConn& c, Epoll& ep, uint64_t key, std::string_view payload,
             std::vector<char>& buf) {
  const int fd = c.fd.get();
  if (!c.connected) {
    if (const int err = connectError(fd); err != 0) {
      c.error = errName(err);
      return Step::kFailed;
    }
    c.connected = true;
  }
  if (c.sent < payload.size()) {
    const ssize_t w = send(fd, payload.data() + c.sent, payload.size() - c.sent, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        return Step::kPending;
      }
      c.error = errName(errno);
      return Step::kFailed;
    }
    c.sent += static_cast<size_t>(w);
    if (c.sent == payload.size()) {
      ep.mod(fd, EPOLLIN, key);
    }
    return Step::kPending;
  }
  const ssize_t n = recv(fd, buf.data(), payload.size() - c.got, 0);
  if (n > 0) {
    if (std::memcmp(buf.data(), payload.data() + c.got, static_cast<size_t>(n)) != 0) {
      c.error = "mismatch";
      return Step::kFailed;
    }
    c.got += static_cast<size_t>(n);
    return c.got == payload.size() ? Step::kDone : Step::kPending;
  }
  if (n == 0) {
    c.error = "eof";
    return Step::kFailed;
  }
  if (errno == EAGAIN || errno == EINTR) {
    return Step::kPending;
  }
  c.error = errName(errno);
  return Step::kFailed;
}

std::string makePayload(uint64_t bytes) {
  std::string p(bytes, '\0');
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = static_cast<char>('a' + i % ('z' - 'a' + 1));
  }
  return p;
}

constexpr double kMedian = 0.5;
constexpr double kP99 = 0.99;

uint64_t percentile(std::vector<uint32_t>& v, double q) {
  if (v.empty()) {
    return 0;
  }
  const auto k = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return v[k];
}

int runConnrate(const Args& args) {
  args.requireKnown({"target", "concurrency", "duration", "payload", "sources", "timeout"});
  const auto target_s = args.get("target");
  if (!target_s) {
    usage("connrate needs --target");
  }
  const sockaddr_in target = parseTarget(*target_s);
  const uint64_t concurrency = std::max<uint64_t>(args.size("concurrency", 64), 1);
  const double duration_s = args.real("duration", 5);
  const std::string payload = makePayload(std::max<uint64_t>(args.size("payload", 64), 1));
  const double timeout_s = args.real("timeout", 5);
  SourcePicker sources(target, args.size("sources", 4));

  Epoll ep;
  UniqueFd sig = stopSignalFd();
  ep.add(sig.get(), EPOLLIN, kSignalKey);
  std::vector<EchoConn> slots(concurrency);
  std::vector<char> buf(payload.size());
  std::vector<uint32_t> latencies_us;
  std::map<std::string, uint64_t> errors;
  uint64_t done = 0;
  uint64_t failed = 0;

  auto launch = [&](size_t i) {
    slots[i] = EchoConn{};
    const int fd = startConnect(target, sources.next());
    if (fd < 0) {
      ++failed;
      ++errors[errName(-fd)];
      return;  // the slot stays empty and is retried next tick, so a dead target cannot spin
    }
    slots[i].fd.reset(fd);
    slots[i].started = Clock::now();
    ep.add(fd, EPOLLOUT, i);
  };

  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(duration_s));
  const auto timeout =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  for (size_t i = 0; i < slots.size(); ++i) {
    launch(i);
  }
  std::array<epoll_event, kMaxEvents> events{};
  auto last_tick = start;
  bool stopped = false;
  while (!stopped && Clock::now() < deadline) {
    const int n = ep.wait(events, kTickMs);
    const auto now = Clock::now();
    for (int e = 0; e < n; ++e) {
      const uint64_t key = events[e].data.u64;
      if (key == kSignalKey) {
        stopped = true;
        break;
      }
      EchoConn& c = slots[key];
      if (!c.fd.valid()) {
        continue;
      }
      const Step s = advance(c, ep, key, payload, buf);
      if (s == Step::kPending) {
        continue;
      }
      if (now >= deadline) {
        break;  // finished after the window closed: counted neither way
      }
      if (s == Step::kDone) {
        ++done;
        latencies_us.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - c.started).count()));
      } else {
        ++failed;
        ++errors[c.error];
      }
      launch(key);
    }
    if (now - last_tick >= std::chrono::milliseconds(kTickMs)) {
      last_tick = now;
      for (size_t i = 0; i < slots.size() && now < deadline; ++i) {
        if (!slots[i].fd.valid()) {
          launch(i);
        } else if (now - slots[i].started > timeout) {
          ++failed;
          ++errors["timeout"];
          launch(i);
        }
      }
    }
  }
  const double elapsed = secondsSince(start);
  // Connections still open at the end are neither done nor failed; a stalled proxy shows here.
  const auto unfinished =
      std::count_if(slots.begin(), slots.end(), [](const EchoConn& c) { return c.fd.valid(); });
  std::printf(
      "{\"test\":\"connrate\",\"target\":\"%s\",\"concurrency\":%llu,\"payload\":%zu,"
      "\"seconds\":%.3f,\"connections\":%llu,\"failures\":%llu,\"unfinished\":%lld,"
      "\"conn_per_s\":%.1f,\"p50_us\":%llu,\"p99_us\":%llu,\"errors\":%s}\n",
      target_s->c_str(), static_cast<unsigned long long>(concurrency), payload.size(), elapsed,
      static_cast<unsigned long long>(done), static_cast<unsigned long long>(failed),
      static_cast<long long>(unfinished), static_cast<double>(done) / elapsed,
      static_cast<unsigned long long>(percentile(latencies_us, kMedian)),
      static_cast<unsigned long long>(percentile(latencies_us, kP99)), jsonCounts(errors).c_str());
  return 0;
}

int runIdle(const Args& args) {
  args.requireKnown(
      {"target", "count", "in-flight", "payload", "sources", "timeout", "stall-timeout"});
  const auto target_s = args.get("target");
  if (!target_s || !args.get("count")) {
    usage("idle needs --target and --count");
  }
  const sockaddr_in target = parseTarget(*target_s);
  const uint64_t count = args.size("count", 0);
  const uint64_t in_flight_max = std::max<uint64_t>(args.size("in-flight", 256), 1);
  const std::string payload = makePayload(std::max<uint64_t>(args.size("payload", 16), 1));
  const auto timeout = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(args.real("timeout", 5)));
  const auto stall = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(args.real("stall-timeout", kDefaultStallSeconds)));
  SourcePicker sources(target, args.size("sources", 4));
  constexpr uint64_t kSpareFds = 16;  // stdio, epoll, signalfd and a little slack
  if (count + kSpareFds > fdLimit()) {
    std::fprintf(stderr, "tcpload: --count %llu needs more fds than the limit %llu\n",
                 static_cast<unsigned long long>(count),
                 static_cast<unsigned long long>(fdLimit()));
    return 1;
  }

  Epoll ep;
  UniqueFd sig = stopSignalFd();
  ep.add(sig.get(), EPOLLIN, kSignalKey);
  std::vector<EchoConn> conns(count);
  std::vector<char> buf(std::max<size_t>(payload.size(), kSourceHeaderBytes));
  std::map<std::string, uint64_t> errors;
  uint64_t next = 0;
  uint64_t in_flight = 0;
  uint64_t held = 0;
  uint64_t failed = 0;
  uint64_t dropped = 0;

  const auto start = Clock::now();
  std::array<epoll_event, kMaxEvents> events{};
  auto last_tick = start;
  auto last_held = start;  // failures are not progress: a dead proxy fails every connection
  auto fail = [&](EchoConn& c, const std::string& why) {
    ++failed;
    ++errors[why];
    c.fd.reset();
    --in_flight;
  };
  // Opening phase: a bounded number of handshakes at once, so no accept queue overflows.
  while (held + failed < count) {
    while (in_flight < in_flight_max && next < count) {
      const int fd = startConnect(target, sources.next());
      if (fd < 0) {
        ++failed;
        ++errors[errName(-fd)];
        ++next;
        continue;
      }
      conns[next].fd.reset(fd);
      conns[next].started = Clock::now();
      ep.add(fd, EPOLLOUT, next);
      ++next;
      ++in_flight;
    }
    const int n = ep.wait(events, kTickMs);
    const auto now = Clock::now();
    for (int e = 0; e < n; ++e) {
      const uint64_t key = events[e].data.u64;
      if (key == kSignalKey) {
        return 1;
      }
      EchoConn& c = conns[key];
      if (!c.fd.valid()) {
        continue;
      }
      if (c.held) {
        ++dropped;  // the peer closed or reset a connection that was already established
        c.fd.reset();
        continue;
      }
      const Step s = advance(c, ep, key, payload, buf);
      if (s == Step::kDone) {
        c.held = true;
        ++held;
        --in_flight;
        last_held = now;
      } else if (s == Step::kFailed) {
        fail(c, c.error);
      }
    }
    if (now - last_tick >= std::chrono::milliseconds(kTickMs)) {
      last_tick = now;
      for (uint64_t i = 0; i < next; ++i) {
        const bool open = conns[i].fd.valid() && !conns[i].held;
        if (open && (now - conns[i].started > timeout || now - last_held > stall)) {
          fail(conns[i], now - last_held > stall ? "stalled" : "timeout");
        }
      }
      if (now - last_held > stall && next < count) {
        failed += count - next;
        errors["stalled"] += count - next;
        next = count;
      }
    }
  }
  std::printf(
      "ready {\"test\":\"idle\",\"target\":\"%s\",\"count\":%llu,\"held\":%llu,"
      "\"failures\":%llu,\"seconds\":%.3f,\"errors\":%s}\n",
      target_s->c_str(), static_cast<unsigned long long>(count),
      static_cast<unsigned long long>(held - dropped), static_cast<unsigned long long>(failed),
      secondsSince(start), jsonCounts(errors).c_str());
  std::fflush(stdout);

  // Hold phase: stdin closing (the harness's signal) or SIGTERM ends it.
  const bool watch_stdin = ep.add(STDIN_FILENO, EPOLLIN, kStdinKey);
  for (bool stop = false; !stop;) {
    const int n = ep.wait(events, -1);
    for (int e = 0; e < n && !stop; ++e) {
      const uint64_t key = events[e].data.u64;
      if (key == kSignalKey) {
        stop = true;
      } else if (key == kStdinKey) {
        std::array<char, kSourceHeaderBytes> junk{};
        const ssize_t r = read(STDIN_FILENO, junk.data(), junk.size());
        stop = r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
      } else if (conns[key].fd.valid()) {
        const ssize_t r = recv(conns[key].fd.get(), buf.data(), buf.size(), MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
          ++dropped;
          conns[key].fd.reset();
        }
      }
    }
  }
  std::printf("{\"test\":\"idle\",\"held_at_end\":%llu,\"dropped\":%llu,\"watched_stdin\":%s}\n",
              static_cast<unsigned long long>(held - dropped),
              static_cast<unsigned long long>(dropped), watch_stdin ? "true" : "false");
  return 0;
}

// ---- bulk ----------------------------------------------------------------------------------

struct Stream {
  UniqueFd fd;
  uint64_t moved = 0;  // payload bytes sent (up) or received (down)
  bool connected = false;
  bool request_sent = false;  // up: our FIN sent; down: the source header sent
  bool finished = false;
};

int runBulk(const Args& args) {
  args.requireKnown({"target", "bytes", "streams", "direction", "timeout", "stall-timeout"});
  const auto target_s = args.get("target");
  if (!target_s) {
    usage("bulk needs --target");
  }
  const sockaddr_in target = parseTarget(*target_s);
  constexpr uint64_t kDefaultStreamBytes = 1ULL << 30;
  const uint64_t bytes = args.size("bytes", kDefaultStreamBytes);
  const uint64_t stream_count = std::max<uint64_t>(args.size("streams", 4), 1);
  const std::string direction = args.str("direction", "up");
  if (direction != "up" && direction != "down") {
    usage("--direction is up or down");
  }
  const bool up = direction == "up";
  const auto timeout = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(args.real("timeout", 120)));
  const auto stall = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(args.real("stall-timeout", kDefaultStallSeconds)));

  Epoll ep;
  UniqueFd sig = stopSignalFd();
  ep.add(sig.get(), EPOLLIN, kSignalKey);
  std::vector<char> buf(kIoBufferBytes, 'y');
  std::vector<Stream> streams(stream_count);
  std::map<std::string, uint64_t> errors;
  uint64_t open = 0;
  const auto start = Clock::now();
  auto finish = [&](Stream& s, const std::string& why) {
    if (!why.empty()) {
      ++errors[why];
    }
    s.finished = true;
    s.fd.reset();
    --open;
  };
  for (size_t i = 0; i < streams.size(); ++i) {
    const int fd = startConnect(target, nullptr);
    if (fd < 0) {
      ++errors[errName(-fd)];
      streams[i].finished = true;
      continue;
    }
    streams[i].fd.reset(fd);
    ep.add(fd, EPOLLOUT, i);
    ++open;
  }

  std::array<epoll_event, kMaxEvents> events{};
  auto last_progress = start;
  uint64_t moved_before = 0;
  while (open > 0) {
    const auto now = Clock::now();
    uint64_t moved = 0;
    for (const auto& s : streams) {
      moved += s.moved;
    }
    if (moved != moved_before) {
      moved_before = moved;
      last_progress = now;
    }
    if (now - start > timeout || now - last_progress > stall) {
      const char* why = now - start > timeout ? "timeout" : "stalled";
      for (auto& s : streams) {
        if (!s.finished) {
          finish(s, why);
        }
      }
      break;
    }
    const int n = ep.wait(events, kTickMs);
    for (int e = 0; e < n; ++e) {
      const uint64_t key = events[e].data.u64;
      if (key == kSignalKey) {
        return 1;
      }
      Stream& s = streams[key];
      if (s.finished) {
        continue;
      }
      const int fd = s.fd.get();
      if (!s.connected) {
        if (const int err = connectError(fd); err != 0) {
          finish(s, errName(err));
          continue;
        }
        s.connected = true;
      }
      if (!up && !s.request_sent) {
        std::array<char, kSourceHeaderBytes> header{};
        std::memcpy(header.data(), kSourceMagic.data(), kSourceMagic.size());
        const uint64_t size_le = htole64(bytes);
        std::memcpy(header.data() + kSourceMagic.size(), &size_le, sizeof size_le);
        // 16 bytes into an empty send buffer cannot be partial.
        if (send(fd, header.data(), header.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(header.size())) {
          finish(s, errName(errno));
          continue;
        }
        s.request_sent = true;
        ep.mod(fd, EPOLLIN, key);
        continue;
      }
      if (up && !s.request_sent) {
        bool failed = false;
        while (s.moved < bytes) {
          const size_t chunk = std::min<uint64_t>(bytes - s.moved, buf.size());
          const ssize_t w = send(fd, buf.data(), chunk, MSG_NOSIGNAL);
          if (w < 0) {
            failed = errno != EAGAIN && errno != EINTR;
            break;
          }
          s.moved += static_cast<uint64_t>(w);
        }
        if (failed) {
          finish(s, errName(errno));
        } else if (s.moved == bytes) {
          // The sink closes on our FIN; its close coming back means every byte went through.
          shutdown(fd, SHUT_WR);
          s.request_sent = true;
          ep.mod(fd, EPOLLIN, key);
        }
        continue;
      }
      for (;;) {
        const ssize_t r = recv(fd, buf.data(), buf.size(), 0);
        if (r > 0) {
          if (!up) {
            s.moved += static_cast<uint64_t>(r);
          }
          continue;
        }
        if (r == 0) {
          finish(s, s.moved == bytes ? "" : "short");
        } else if (errno != EAGAIN && errno != EINTR) {
          finish(s, errName(errno));
        }
        break;
      }
    }
  }
  const double elapsed = secondsSince(start);
  uint64_t total = 0;
  for (const auto& s : streams) {
    total += s.moved;
  }
  uint64_t failures = 0;
  for (const auto& [k, v] : errors) {
    failures += v;
  }
  constexpr double kBitsPerByte = 8;
  constexpr double kGiga = 1e9;
  std::printf(
      "{\"test\":\"bulk\",\"target\":\"%s\",\"direction\":\"%s\",\"streams\":%llu,"
      "\"bytes\":%llu,\"seconds\":%.3f,\"gbit_per_s\":%.3f,\"failures\":%llu,\"errors\":%s}\n",
      target_s->c_str(), direction.c_str(), static_cast<unsigned long long>(stream_count),
      static_cast<unsigned long long>(total), elapsed,
      static_cast<double>(total) * kBitsPerByte / elapsed / kGiga,
      static_cast<unsigned long long>(failures), jsonCounts(errors).c_str());
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage("missing subcommand");
  }
  std::signal(SIGPIPE, SIG_IGN);  // send() uses MSG_NOSIGNAL; this covers anything else
  raiseFdLimit();
  const std::string_view cmd = argv[1];
  const Args args(argc, argv, 2);
  if (cmd == "serve") {
    return runServe(args);
  }
  if (cmd == "connrate") {
    return runConnrate(args);
  }
  if (cmd == "bulk") {
    return runBulk(args);
  }
  if (cmd == "idle") {
    return runIdle(args);
  }
  usage("unknown subcommand");
}
