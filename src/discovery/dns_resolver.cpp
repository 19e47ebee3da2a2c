// src/discovery/dns_resolver.cpp — c-ares on our event loop.
#include "discovery/dns_resolver.h"

#include <arpa/nameser.h>
#include <netdb.h>

#include <algorithm>
#include <climits>

#include "core/log.h"

namespace ballast::discovery {
namespace {

// While lookups are in flight: how often c-ares's timeouts and pending writes are run. Reads
// are driven by readiness; this only bounds how late a retry or a timeout is noticed.
constexpr uint64_t kTickMs = 20;

struct AddressQuery {
  DnsResolver* self;
  uint16_t port;
  std::function<void(AddressAnswer)> done;
};

struct SrvQuery {
  std::function<void(SrvAnswer)> done;
};

}  // namespace

std::unique_ptr<DnsResolver> DnsResolver::create(core::EventLoop& loop,
                                                 const std::vector<net::SocketAddress>& servers,
                                                 std::string* error) {
  static const int library = ares_library_init(ARES_LIB_INIT_ALL);
  if (library != ARES_SUCCESS) {
    *error = std::string("c-ares: ") + ares_strerror(library);
    return nullptr;
  }
  std::unique_ptr<DnsResolver> r(new DnsResolver(loop));
  ares_options options{};
  options.sock_state_cb = &DnsResolver::onSocketState;
  options.sock_state_cb_data = r.get();
  const int status = ares_init_options(&r->channel_, &options, ARES_OPT_SOCK_STATE_CB);
  if (status != ARES_SUCCESS) {
    *error = std::string("c-ares: ") + ares_strerror(status);
    return nullptr;
  }
  if (!servers.empty()) {
    std::string csv;
    for (const auto& s : servers) {
      csv += (csv.empty() ? "" : ",") + s.toString();
    }
    const int set = ares_set_servers_ports_csv(r->channel_, csv.c_str());
    if (set != ARES_SUCCESS) {
      *error = "discovery.resolvers: " + std::string(ares_strerror(set));
      return nullptr;
    }
  }
  r->tick_.bind(&DnsResolver::onTick, r.get());
  return r;
}

DnsResolver::~DnsResolver() {
  core::TimerWheel::cancel(tick_);
  if (channel_ != nullptr) {
    // Cancels what is in flight: each callback runs once with ARES_EDESTRUCTION, and the
    // socket-state callback unwatches c-ares's sockets.
    ares_destroy(channel_);
  }
  for (auto& [fd, w] : watched_) {
    loop_.unwatch(*w);
  }
}

void DnsResolver::onSocketState(void* self, ares_socket_t fd, int readable, int writable) {
  auto* r = static_cast<DnsResolver*>(self);
  const auto it = r->watched_.find(fd);
  if (readable != 0 || writable != 0) {
    if (it == r->watched_.end()) {
      auto w = std::make_unique<core::Watcher>();
      r->loop_.watch(*w, fd, r);
      r->watched_.emplace(fd, std::move(w));
    }
    return;
  }
  if (it != r->watched_.end()) {
    r->loop_.unwatch(*it->second);  // c-ares closes the fd right after this returns
    r->releasing_.push_back(std::move(it->second));
    r->watched_.erase(it);
  }
}

void DnsResolver::onReady(core::Watcher& w) {
  // Edge-triggered: c-ares reads what is there; the tick catches anything it left.
  ares_process_fd(channel_, w.fd(), ARES_SOCKET_BAD);
}

void DnsResolver::onReleased(core::Watcher& w) {
  std::erase_if(releasing_, [&w](const auto& p) { return p.get() == &w; });
}

void DnsResolver::armTick() {
  if (!tick_.armed()) {
    loop_.timers().schedule(tick_, kTickMs);
  }
}

void DnsResolver::onTick(void* self) {
  auto* r = static_cast<DnsResolver*>(self);
  std::vector<int> fds;
  for (const auto& [fd, w] : r->watched_) {
    fds.push_back(fd);
  }
  for (const int fd : fds) {
    ares_process_fd(r->channel_, fd, fd);
  }
  ares_process_fd(r->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
  if (r->pending_ > 0) {
    r->armTick();
  }
}

void DnsResolver::lookup(const std::string& host, uint16_t port,
                         std::function<void(AddressAnswer)> done) {
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = ARES_AI_NOSORT;
  auto* q =
      new AddressQuery{this, port, std::move(done)};  // NOLINT(cppcoreguidelines-owning-memory)
  ++pending_;
  armTick();
  ares_getaddrinfo(
      channel_, host.c_str(), nullptr, &hints,
      [](void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
        std::unique_ptr<AddressQuery> query(static_cast<AddressQuery*>(arg));
        --query->self->pending_;
        AddressAnswer answer;
        if (status != ARES_SUCCESS) {
          answer.error = ares_strerror(status);
        } else {
          answer.ok = true;
          int ttl = INT_MAX;
          for (const ares_addrinfo_node* n = result->nodes; n != nullptr; n = n->ai_next) {
            auto a = net::SocketAddress::fromSockaddr(n->ai_addr, n->ai_addrlen);
            a.setPort(query->port);
            if (std::find(answer.addresses.begin(), answer.addresses.end(), a) ==
                answer.addresses.end()) {
              answer.addresses.push_back(a);
            }
            ttl = std::min(ttl, n->ai_ttl);
          }
          answer.ttl_s = ttl == INT_MAX || ttl < 0 ? 0 : static_cast<uint32_t>(ttl);
        }
        if (result != nullptr) {
          ares_freeaddrinfo(result);
        }
        if (status != ARES_EDESTRUCTION) {
          query->done(std::move(answer));
        }
      },
      q);
}

void DnsResolver::lookupSrv(const std::string& name, std::function<void(SrvAnswer)> done) {
  auto* q = new SrvQuery{std::move(done)};  // NOLINT(cppcoreguidelines-owning-memory)
  ++pending_;
  armTick();
  struct Ctx {
    DnsResolver* self;
    SrvQuery* query;
  };
  auto* ctx = new Ctx{this, q};  // NOLINT(cppcoreguidelines-owning-memory)
  ares_query(
      channel_, name.c_str(), ns_c_in, ns_t_srv,
      [](void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
        std::unique_ptr<Ctx> c(static_cast<Ctx*>(arg));
        std::unique_ptr<SrvQuery> query(c->query);
        --c->self->pending_;
        SrvAnswer answer;
        ares_srv_reply* replies = nullptr;
        if (status == ARES_SUCCESS) {
          status = ares_parse_srv_reply(abuf, alen, &replies);
        }
        if (status != ARES_SUCCESS) {
          answer.error = ares_strerror(status);
        } else {
          answer.ok = true;
          for (const ares_srv_reply* r = replies; r != nullptr; r = r->next) {
            answer.records.push_back({r->host, r->port, r->priority, r->weight});
          }
        }
        if (replies != nullptr) {
          ares_free_data(replies);
        }
        if (status != ARES_EDESTRUCTION) {
          query->done(std::move(answer));
        }
      },
      ctx);
}

}  // namespace ballast::discovery
