// src/control/admin_server.cpp — accept, parse, dispatch and write for the admin server.
#include "control/admin_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "core/accept_error.h"
#include "core/log.h"
#include "core/socket.h"
#include "core/timer_wheel.h"
#include "proto/http1/request_parser.h"

namespace ballast::control {
namespace h1 = proto::http1;

namespace {

std::string_view reasonPhrase(uint16_t status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

h1::Limits adminLimits() {
  h1::Limits l;
  l.max_body = kMaxAdminBodyBytes;
  return l;
}

}  // namespace

struct AdminServer::Acceptor final : public core::WatchHandler {
  Acceptor(AdminServer& s, core::Fd f, bool u, tls::SharedSslCtx t)
      : server(s), fd(std::move(f)), unix_socket(u), tls(std::move(t)) {}
  void onAccept(core::Watcher& /*w*/, int client) override { server.onAccept(*this, client); }
  // The loop backs off by itself (core::kAcceptBackoffFirstMs); the line says why the admin
  // API stops answering for a while.
  void onAcceptPaused(core::Watcher& /*w*/, int err, uint32_t pause_ms) override {
    core::LogLine(core::LogLevel::kWarn, "admin.accept_paused", core::LogRepeat::kLimited)
        .str("reason", core::acceptErrorName(err))
        .str("error", core::acceptErrorText(err))
        .unum("pause_ms", pause_ms);
  }
  void onReleased(core::Watcher& /*w*/) override { released = true; }
  AdminServer& server;
  core::Fd fd;
  bool unix_socket;
  tls::SharedSslCtx tls;
  core::Watcher watcher;
  bool released = false;
};

class AdminServer::Connection final : public core::StreamHandler {
 public:
  // What the connection waits for, which decides its deadline. Bytes never move a deadline.
  enum class Phase : uint8_t {
    kHandshake,  // TLS handshake: timeouts.handshake from accept
    kWaiting,    // no byte of the next request yet: header from accept (first), else idle
    kReading,    // a request has begun: header from its first byte (from accept, first one)
    kStream,     // an event stream: no deadline (capped by count and backlog instead)
  };
  enum class Slot : uint8_t { kNone, kUnix, kTcp };

  Connection(AdminServer& server, int fd, AdminPeer peer, SSL_CTX* tls)
      : server_(server), parser_(adminLimits()), peer_(std::move(peer)) {
    if (tls != nullptr) {
      tls_ = std::make_unique<tls::TlsChannel>(tls);
    }
    timer_.bind(&Connection::onTimer, this);
    server_.loop_.attach(stream_, fd, this);
  }
  ~Connection() { core::TimerWheel::cancel(timer_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    server_.loop_.startRecv(stream_);
    const auto& t = server_.policy_.timeouts;
    if (tls_) {
      enter(Phase::kHandshake, static_cast<uint64_t>(t.handshake.count()));
    } else {
      enter(Phase::kWaiting, static_cast<uint64_t>(t.header.count()));
    }
  }
  bool eventStream() const { return event_stream_; }
  const AdminPeer& peer() const { return peer_; }
  // May be closed to make room: waits for a request (never one being answered or a stream).
  bool evictable() const { return !closing_ && phase_ != Phase::kStream && sending_.empty(); }
  uint64_t waitingSince() const { return waiting_since_ms_; }
  Slot slot = Slot::kNone;      // the budget this connection is counted in (AdminServer)
  bool stream_counted = false;  // counted in AdminServer::event_streams_

  void push(const std::string& data) {
    if (!event_stream_ || closing_) {
      return;
    }
    if (out_.size() + data.size() > kMaxAdminBacklogBytes) {
      // A reader this far behind is gone or hostile: drop it rather than grow without bound.
      core::LogLine(core::LogLevel::kWarn, "admin.event_stream_overflow", core::LogRepeat::kLimited)
          .str("peer", peer_.describe());
      shutdown();
      return;
    }
    queue(data);
    flush();
  }

  // Graceful stop: a request may already be on its way (the client cannot know we stop), so
  // answer it, with Connection: close, if it comes within the grace; an event stream ends now.
  void drain() {
    if (closing_) {
      return;
    }
    if (event_stream_) {
      shutdown();
      return;
    }
    draining_ = true;
    server_.loop_.timers().schedule(timer_, kAdminDrainGraceMs);
  }

  void shutdown() {
    if (closing_) {
      return;
    }
    closing_ = true;
    core::TimerWheel::cancel(timer_);
    server_.forget(*this);  // the slot is free now, before the socket is released
    server_.loop_.close(stream_);
  }

  void onConnect(core::Stream& /*s*/, int /*err*/) override {}

  void onRecv(core::Stream& /*s*/, core::ChunkId id, uint32_t len) override {
    auto& chunks = server_.loop_.chunks();
    std::span<const uint8_t> in(chunks.data(id), len);
    if (tls_ && !closing_) {
      std::string plain;
      std::string why;
      const bool ok = tls_->receive(in, plain, out_, &why);
      server_.loop_.releaseChunk(id);
      if (!ok) {
        ++server_.stats_.tls_failures_total;
        core::LogLine(core::LogLevel::kInfo, "admin.tls_failed", core::LogRepeat::kLimited)
            .str("server", server_.policy_.name)
            .str("peer", peer_.describe())
            .str("reason", why);
        close_after_flush_ = true;  // send the alert, then close
        flush();
        return;
      }
      if (phase_ == Phase::kHandshake && tls_->established()) {
        enter(Phase::kWaiting, static_cast<uint64_t>(server_.policy_.timeouts.header.count()));
      }
      if (!event_stream_) {
        parse(
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(plain.data()), plain.size()));
      }
      flush();
      return;
    }
    if (!closing_ && !event_stream_) {
      parse(in);
    }
    server_.loop_.releaseChunk(id);
  }

  void onRecvEnd(core::Stream& /*s*/, int /*err*/) override {
    peer_closed_ = true;
    if (sending_.empty() && out_.empty()) {
      shutdown();
    } else {
      close_after_flush_ = true;
    }
  }

  void onSent(core::Stream& /*s*/, int64_t result) override {
    if (result < 0) {
      shutdown();
      return;
    }
    sending_.erase(0, static_cast<size_t>(result));
    if (!sending_.empty()) {
      server_.loop_.send(stream_, reinterpret_cast<const uint8_t*>(sending_.data()),
                         static_cast<uint32_t>(sending_.size()));
      return;
    }
    flush();
  }

  void onReleased(core::Stream& /*s*/) override { server_.release(this); }

 private:
  // Arms the phase's deadline `ms` from now; 0 = none.
  void enter(Phase phase, uint64_t ms) {
    phase_ = phase;
    if (phase == Phase::kWaiting || phase == Phase::kHandshake) {
      waiting_since_ms_ = server_.loop_.timers().nowMs();
    }
    if (ms == 0) {
      core::TimerWheel::cancel(timer_);
    } else {
      server_.loop_.timers().schedule(timer_, ms);
    }
  }

  // Bytes of a request arrived while waiting: from now on the header deadline holds. The first
  // request keeps the one armed at accept, so trickling from the start gains nothing.
  void requestBegins() {
    if (phase_ != Phase::kWaiting) {
      return;
    }
    if (requests_ == 0) {
      phase_ = Phase::kReading;
      return;
    }
    enter(Phase::kReading, static_cast<uint64_t>(server_.policy_.timeouts.header.count()));
  }

  static void onTimer(void* self) { static_cast<Connection*>(self)->onDeadline(); }

  void onDeadline() {
    if (draining_) {
      shutdown();  // the stop's grace is over: not a client's fault, not counted
      return;
    }
    auto& stats = server_.stats_;
    std::string_view kind = "header";
    if (phase_ == Phase::kHandshake) {
      ++stats.handshake_timeouts_total;
      kind = "handshake";
    } else if (phase_ == Phase::kWaiting && requests_ > 0) {
      ++stats.idle_timeouts_total;
      kind = "idle";
    } else {
      ++stats.header_timeouts_total;
    }
    core::LogLine(core::LogLevel::kInfo, "admin.timeout", core::LogRepeat::kLimited)
        .str("server", server_.policy_.name)
        .str("kind", kind)
        .str("peer", peer_.describe());
    shutdown();
  }

  void parse(std::span<const uint8_t> in) {
    if (!in.empty()) {
      requestBegins();
    }
    for (;;) {
      const h1::Progress p = parser_.next(in);
      in = in.subspan(p.consumed);
      switch (p.event) {
        case h1::Event::kHead:
          onHead();
          break;
        case h1::Event::kBody:
          request_.body.append(reinterpret_cast<const char*>(p.body.data()), p.body.size());
          break;
        case h1::Event::kMessageEnd:
          dispatch();
          if (event_stream_ || close_after_flush_ || closing_) {
            return;
          }
          if (!in.empty()) {
            requestBegins();  // a pipelined request follows
          }
          break;
        case h1::Event::kTunnel:
          // Upgrade/CONNECT are not part of the admin API.
          respond(AdminResponse::error(400, "bad_request", "upgrade is not supported"), false);
          return;
        case h1::Event::kError:
          respond(AdminResponse::error(static_cast<uint16_t>(parser_.errorStatus()), "bad_request",
                                       parser_.errorReason()),
                  false);
          return;
        default:
          return;  // kNeedMore, kClosed
      }
    }
  }

  void onHead() {
    const auto& head = parser_.head();
    request_ = AdminRequest{};
    request_.peer = peer_;
    request_.connection_fd = stream_.fd();
    request_.method = std::string(head.method);
    const std::string_view target = head.target;
    const size_t q = target.find('?');
    bad_path_ = !percentDecode(target.substr(0, q), request_.path);
    if (q != std::string_view::npos) {
      request_.query = std::string(target.substr(q + 1));
    }
    for (const auto& h : head.headers) {
      request_.headers.emplace_back(lower(h.name), std::string(h.value));
    }
    keep_alive_ = head.keep_alive;
  }

  void dispatch() {
    ++requests_;
    if (bad_path_) {
      respond(AdminResponse::error(400, "bad_request", "malformed percent-encoding in path"),
              false);
      return;
    }
    AdminResponse r;
    try {
      r = server_.handler_(request_);
    } catch (const std::exception& e) {
      // A handler bug must cost one request, never the control thread.
      core::LogLine(core::LogLevel::kError, "admin.handler_failed")
          .str("path", request_.path)
          .str("reason", e.what());
      r = AdminResponse::error(500, "internal", "internal error; see the log");
    }
    if (r.event_stream && r.status == 200 &&
        server_.event_streams_ >= server_.policy_.limits.max_event_streams) {
      ++server_.stats_.refused_event_streams_total;
      core::LogLine(core::LogLevel::kWarn, "admin.too_many_event_streams",
                    core::LogRepeat::kLimited)
          .str("peer", peer_.describe())
          .unum("limit", server_.policy_.limits.max_event_streams);
      r = AdminResponse::error(503, "too_many_event_streams",
                               "every event stream slot is taken (admin.limits.max_event_streams)");
    }
    respond(r, keep_alive_ && !r.event_stream && !draining_);
  }

  void respond(const AdminResponse& r, bool keep_alive) {
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " ";
    head += reasonPhrase(r.status);
    head += "\r\nContent-Type: ";
    head += r.content_type;
    head += "\r\nCache-Control: no-store\r\n";
    for (const auto& [k, v] : r.headers) {
      head += k + ": " + v + "\r\n";
    }
    if (r.event_stream && r.status == 200) {
      head += "Connection: keep-alive\r\n\r\n";
      event_stream_ = true;
      enter(Phase::kStream, 0);
      server_.returnSlot(*this);  // streams have a budget of their own
      stream_counted = true;
      ++server_.event_streams_;
      queue(head + r.body);
      flush();
      return;
    }
    head += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    if (!keep_alive) {
      head += "Connection: close\r\n";
      close_after_flush_ = true;
    }
    head += "\r\n";
    if (request_.method != "HEAD") {
      head += r.body;
    }
    // The client has idle_timeout to read this and start its next request.
    enter(Phase::kWaiting, static_cast<uint64_t>(server_.policy_.timeouts.idle.count()));
    queue(head);
    flush();
  }

  // Response bytes to the wire, through TLS when the listener has it.
  void queue(const std::string& plain) {
    if (tls_) {
      tls_->send(plain, out_);
    } else {
      out_ += plain;
    }
  }

  void flush() {
    if (closing_ || stream_.sending()) {
      return;
    }
    if (sending_.empty() && !out_.empty()) {
      sending_.swap(out_);
    }
    if (!sending_.empty()) {
      server_.loop_.send(stream_, reinterpret_cast<const uint8_t*>(sending_.data()),
                         static_cast<uint32_t>(sending_.size()));
      return;
    }
    if (close_after_flush_) {
      shutdown();
    }
  }

  AdminServer& server_;
  core::Stream stream_;
  core::Timer timer_;
  h1::RequestParser parser_;
  AdminPeer peer_;
  AdminRequest request_;
  std::unique_ptr<tls::TlsChannel> tls_;  // TCP listeners with admin.tls
  std::string out_;                       // queued wire bytes, not yet handed to the loop
  std::string sending_;                   // handed to the loop; must stay put until onSent
  Phase phase_ = Phase::kWaiting;
  uint64_t waiting_since_ms_ = 0;
  uint64_t requests_ = 0;
  bool keep_alive_ = true;
  bool bad_path_ = false;
  bool event_stream_ = false;
  bool close_after_flush_ = false;
  bool peer_closed_ = false;
  bool closing_ = false;
  bool draining_ = false;  // graceful stop: one more request at most, then close
};

AdminServer::AdminServer(core::EventLoop& loop, Handler handler, ServerPolicy policy)
    : loop_(loop), handler_(std::move(handler)), policy_(std::move(policy)) {}

AdminServer::~AdminServer() { close(); }

void AdminServer::addAcceptor(core::Fd fd, bool unix_socket, tls::SharedSslCtx tls) {
  auto a = std::make_unique<Acceptor>(*this, std::move(fd), unix_socket, std::move(tls));
  loop_.listen(a->watcher, a->fd.get(), a.get());
  acceptors_.push_back(std::move(a));
}

bool AdminServer::listenUnix(const std::string& path, std::string* error) {
  sockaddr_un sun{};
  if (path.size() >= sizeof(sun.sun_path)) {
    *error = "admin socket path too long: " + path;
    return false;
  }
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    const std::string dir = path.substr(0, slash);
    constexpr mode_t kDirMode = 0750;
    if (::mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST) {
      *error = "cannot create " + dir + ": " + std::strerror(errno);
      return false;
    }
  }
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  const auto* addr = reinterpret_cast<const sockaddr*>(&sun);
  core::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      *error = path + " exists and is not a socket";
      return false;
    }
    core::Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(probe.get(), addr, sizeof(sun)) == 0) {
      *error = "another process serves " + path + " (use `ballast run --upgrade` to replace it)";
      return false;
    }
    ::unlink(path.c_str());  // stale: its process is gone
  }
  // The file gets its mode at bind: 0660 through the umask, never wider for an instant (a
  // chmod after bind leaves a window in which anyone may connect). The umask is per process;
  // this runs on the control thread at start, when no other thread creates files.
  constexpr mode_t kSocketUmask = 0117;  // → srw-rw----
  const mode_t old_umask = ::umask(kSocketUmask);
  const int bound = ::bind(fd.get(), addr, sizeof(sun));
  const int bind_errno = errno;
  ::umask(old_umask);
  if (bound != 0) {
    *error = "bind " + path + ": " + std::strerror(bind_errno);
    return false;
  }
  constexpr int kBacklog = 64;
  if (::listen(fd.get(), kBacklog) != 0) {
    *error = "listen " + path + ": " + std::strerror(errno);
    return false;
  }
  unix_path_ = path;
  addAcceptor(std::move(fd), true, nullptr);
  return true;
}

bool AdminServer::listenTcp(const net::SocketAddress& addr, std::string* error,
                            tls::SharedSslCtx tls) {
  auto fd = core::openListener(addr, /*stream=*/true);
  if (!fd) {
    *error = "listen " + addr.toString() + ": " + std::strerror(fd.error().sys_errno);
    return false;
  }
  addAcceptor(core::Fd(*fd), false, std::move(tls));
  return true;
}

void AdminServer::adoptListener(core::Fd fd, bool unix_socket, const std::string& unix_path,
                                tls::SharedSslCtx tls) {
  if (unix_socket) {
    unix_path_ = unix_path;
  }
  addAcceptor(std::move(fd), unix_socket, std::move(tls));
}

std::vector<int> AdminServer::listenerFds(bool unix_socket) const {
  std::vector<int> out;
  for (const auto& a : acceptors_) {
    if (a->unix_socket == unix_socket) {
      out.push_back(a->fd.get());
    }
  }
  return out;
}

void AdminServer::onAccept(Acceptor& a, int fd) {
  const auto& limits = policy_.limits;
  AdminPeer peer;
  peer.unix_socket = a.unix_socket;
  if (a.unix_socket) {
    if (unix_slots_ >= limits.unix_connections && !evictFor(true, nullptr)) {
      ++stats_.refused_unix_full_total;
      core::LogLine(core::LogLevel::kWarn, "admin.too_many_connections", core::LogRepeat::kLimited)
          .str("server", policy_.name)
          .str("socket", "unix")
          .unum("limit", limits.unix_connections);
      ::close(fd);
      return;
    }
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      peer.uid = cred.uid;
      peer.pid = cred.pid;
    }
  } else {
    const net::SocketAddress addr = core::peerAddress(fd);
    peer.address = addr.hostString();
    // Admission before any work: a peer outside the allow-list never takes a slot, never has a
    // byte read, and costs one counter and (rate-limited) one log line.
    if (!policy_.allow.empty() && std::none_of(policy_.allow.begin(), policy_.allow.end(),
                                               [&](const auto& c) { return c.contains(addr); })) {
      ++stats_.refused_not_allowed_total;
      core::LogLine(core::LogLevel::kWarn, "admin.peer_not_allowed", core::LogRepeat::kLimited)
          .str("server", policy_.name)
          .str("peer", peer.address);
      ::close(fd);
      return;
    }
    const auto it = tcp_per_peer_.find(peer.address);
    const uint32_t mine = it == tcp_per_peer_.end() ? 0 : it->second;
    const bool peer_full =
        mine >= limits.max_connections_per_peer && !evictFor(false, &peer.address);
    const bool full =
        !peer_full && tcp_slots_ >= limits.max_connections && !evictFor(false, nullptr);
    if (peer_full || full) {
      ++(peer_full ? stats_.refused_peer_full_total : stats_.refused_full_total);
      core::LogLine(core::LogLevel::kWarn, "admin.too_many_connections", core::LogRepeat::kLimited)
          .str("server", policy_.name)
          .str("socket", "tcp")
          .str("peer", peer.address)
          .unum("limit", peer_full ? limits.max_connections_per_peer : limits.max_connections);
      ::close(fd);
      return;
    }
  }
  ++(a.unix_socket ? stats_.accepted_unix_total : stats_.accepted_tcp_total);
  auto c = std::make_unique<Connection>(*this, fd, std::move(peer), a.tls.get());
  Connection* raw = c.get();
  connections_.push_back(std::move(c));
  takeSlot(*raw);
  raw->start();
}

bool AdminServer::evictFor(bool unix_socket, const std::string* peer) {
  Connection* victim = nullptr;
  for (auto& c : connections_) {
    const auto& p = c->peer();
    if (c->slot == Connection::Slot::kNone || p.unix_socket != unix_socket || !c->evictable() ||
        (peer != nullptr && p.address != *peer)) {
      continue;
    }
    if (victim == nullptr || c->waitingSince() < victim->waitingSince()) {
      victim = c.get();
    }
  }
  if (victim == nullptr) {
    return false;
  }
  ++stats_.evicted_total;
  core::LogLine(core::LogLevel::kInfo, "admin.connection_evicted", core::LogRepeat::kLimited)
      .str("server", policy_.name)
      .str("peer", victim->peer().describe());
  victim->shutdown();  // returns its slot now
  return true;
}

void AdminServer::takeSlot(Connection& c) {
  if (c.peer().unix_socket) {
    c.slot = Connection::Slot::kUnix;
    ++unix_slots_;
  } else {
    c.slot = Connection::Slot::kTcp;
    ++tcp_slots_;
    ++tcp_per_peer_[c.peer().address];
  }
}

void AdminServer::returnSlot(Connection& c) {
  if (c.slot == Connection::Slot::kUnix) {
    --unix_slots_;
  } else if (c.slot == Connection::Slot::kTcp) {
    --tcp_slots_;
    const auto it = tcp_per_peer_.find(c.peer().address);
    if (it != tcp_per_peer_.end() && --it->second == 0) {
      tcp_per_peer_.erase(it);
    }
  }
  c.slot = Connection::Slot::kNone;
}

void AdminServer::forget(Connection& c) {
  returnSlot(c);
  if (c.stream_counted) {
    --event_streams_;
    c.stream_counted = false;
  }
}

void AdminServer::release(Connection* c) {
  forget(*c);
  std::erase_if(connections_, [c](const auto& p) { return p.get() == c; });
}

void AdminServer::broadcast(const std::string& data) {
  for (auto& c : connections_) {
    c->push(data);
  }
}

void AdminServer::stopAccepting() {
  for (auto& a : acceptors_) {
    if (a->watcher.active()) {
      loop_.unwatch(a->watcher);
    }
  }
}

void AdminServer::drain() {
  stopAccepting();
  // drain() may shut a connection down; it leaves the list only on release, later.
  for (auto& c : connections_) {
    c->drain();
  }
}

void AdminServer::close() {
  stopAccepting();
  for (auto& c : connections_) {
    c->shutdown();
  }
  // Run the loop until every watcher and stream is released: they reference this object.
  const auto pending = [this] {
    return !connections_.empty() || std::any_of(acceptors_.begin(), acceptors_.end(),
                                                [](const auto& a) { return !a->released; });
  };
  constexpr int kMaxTurns = 100;
  for (int i = 0; i < kMaxTurns && pending(); ++i) {
    loop_.runOnce(0);
  }
  acceptors_.clear();
  if (!unix_path_.empty()) {
    ::unlink(unix_path_.c_str());
    unix_path_.clear();
  }
}

}  // namespace ballast::control
