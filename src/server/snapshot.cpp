// src/server/snapshot.cpp — building a runnable snapshot from a Config.
#include "server/snapshot.h"

#include <cerrno>
#include <cstring>

#include "acme/storage.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/socket.h"
#include "policy/sticky_store.h"

namespace ballast::server {
namespace {

// tls.acme: the issued certificate (or the placeholder until there is one), as it is on disk
// now, served first so that it is the default; listed certificates follow.
config::TlsServerSettings withAcmeCertificate(const config::TlsServerSettings& tls) {
  if (!tls.acme) {
    return tls;
  }
  config::TlsServerSettings out = tls;
  out.certificates.insert(out.certificates.begin(), acme::servingCertificate(*tls.acme));
  return out;
}

}  // namespace

int Snapshot::poolIndex(const std::string& name) const {
  for (size_t k = 0; k < pools.size(); ++k) {
    if (pools[k]->config->name == name) {
      return static_cast<int>(k);
    }
  }
  return -1;
}

std::string listenerKey(const config::Listener& l) {
  switch (l.protocol) {
    case config::Protocol::kUdp:
      return "udp " + l.bind.toString();
    case config::Protocol::kHttp:
    case config::Protocol::kHttps:  // the same TCP socket: a reload may switch TLS on or off
      return "http " + l.bind.toString();
    default:
      return "tcp " + l.bind.toString();
  }
}

// Inherited sockets keep their accept queues, so nothing waiting there is lost. With fewer
// workers than before the extra sockets are closed (connections queued on them are reset,
// which is logged); with more, new SO_REUSEPORT sockets join the same group.
std::shared_ptr<ListenerSockets> SnapshotBuilder::adoptInherited(const std::string& key,
                                                                 std::vector<core::Fd>& fds,
                                                                 const config::Listener& l) {
  auto sockets = std::make_shared<ListenerSockets>();
  sockets->key = key;
  for (auto& fd : fds) {
    if (sockets->per_worker.size() < workers_) {
      sockets->per_worker.push_back(std::move(fd));
    }
  }
  if (fds.size() > workers_) {
    core::LogLine(core::LogLevel::kWarn, "server.upgrade_sockets_dropped")
        .str("listener", l.name)
        .unum("inherited", fds.size())
        .unum("workers", workers_);
  }
  while (sockets->per_worker.size() < workers_) {
    auto fd = core::openListener(l.bind, l.protocol != config::Protocol::kUdp);
    if (!fd) {
      return nullptr;
    }
    sockets->per_worker.emplace_back(*fd);
  }
  return sockets;
}

SnapshotPtr SnapshotBuilder::build(config::ConfigPtr config, const Snapshot* previous,
                                   std::string* error) {
  auto snap = std::make_shared<Snapshot>();
  snap->config = config;
  for (const auto& l : config->listeners) {
    const std::string key = listenerKey(l);
    std::shared_ptr<ListenerSockets> sockets;
    if (previous != nullptr) {
      for (const auto& s : previous->sockets) {
        if (s->key == key) {
          sockets = s;
        }
      }
    }
    if (!sockets) {
      if (auto it = inherited_.find(key); it != inherited_.end()) {
        sockets = adoptInherited(key, it->second, l);
        inherited_.erase(it);
        if (!sockets) {
          *error = "listener " + l.name + " (" + key + "): cannot add sockets to inherited ones";
          return nullptr;
        }
      }
    }
    if (!sockets) {
      // A new address must be free of other processes' sockets; one this process already
      // listens on (say, a listener changing protocol) is ours to share.
      bool ours = false;
      if (previous != nullptr) {
        for (const auto& old : previous->config->listeners) {
          ours = ours || (old.bind == l.bind && (old.protocol == config::Protocol::kUdp) ==
                                                    (l.protocol == config::Protocol::kUdp));
        }
      }
      if (!ours) {
        auto free = core::probeAddressFree(l.bind, l.protocol != config::Protocol::kUdp);
        if (!free) {
          *error = "listener " + l.name + " (" + key + "): " + strerror(free.error().sys_errno) +
                   (free.error().sys_errno == EADDRINUSE ? " (another process listens there)" : "");
          return nullptr;
        }
      }
      sockets = std::make_shared<ListenerSockets>();
      sockets->key = key;
      for (uint32_t w = 0; w < workers_; ++w) {
        auto fd = core::openListener(l.bind, l.protocol != config::Protocol::kUdp);
        if (!fd) {
          *error = "listener " + l.name + " (" + key + "): " + std::string(fd.error().what) + ": " +
                   strerror(fd.error().sys_errno);
          return nullptr;  // sockets opened so far close with `sockets`
        }
        sockets->per_worker.emplace_back(*fd);
      }
    }
    snap->sockets.push_back(std::move(sockets));
    std::shared_ptr<tls::ServerContext> tls;
    if (l.protocol == config::Protocol::kHttps) {
      std::string why;
      tls = tls::ServerContext::build(l.name, withAcmeCertificate(l.tls), &why);
      if (!tls) {
        *error = "listener " + l.name + ": " + why;
        return nullptr;
      }
    }
    snap->tls.push_back(std::move(tls));
  }
  std::map<std::string, upstream::BackendStatePtr> backends;
  std::map<std::string, std::shared_ptr<std::atomic<uint64_t>>> generations;
  std::map<std::string, std::shared_ptr<upstream::PoolCircuit>> circuits;
  std::map<std::string, std::shared_ptr<upstream::GroupState>> group_states;
  for (const auto& p : config->pools) {
    std::shared_ptr<tls::ClientContext> upstream_tls;
    if (p.tls.enabled) {
      std::string why;
      upstream_tls = tls::ClientContext::build(p.tls, &why);
      if (!upstream_tls) {
        *error = "pool " + p.name + ": " + why;
        return nullptr;
      }
    }
    snap->upstream_tls.push_back(std::move(upstream_tls));
    if (p.sticky_store.enabled()) {
      // Connected now, not at the first request: it has read the other nodes' pins by then.
      policy::StickyStore::forEndpoint(p.sticky_store.host, p.sticky_store.port);
    }
    auto rt = std::make_unique<upstream::PoolRuntime>();
    rt->config = &p;
    auto& gen = pool_generations_[p.name];
    if (!gen) {
      gen = std::make_shared<std::atomic<uint64_t>>(0);
    }
    // A reload may change weights or the backend list: make every worker rebuild its picker.
    gen->fetch_add(1, std::memory_order_release);
    rt->generation = gen;
    generations[p.name] = gen;
    auto& circuit = pool_circuits_[p.name];
    if (!circuit) {
      circuit = std::make_shared<upstream::PoolCircuit>();
    }
    rt->circuit = circuit;
    circuits[p.name] = circuit;
    if (!p.groups.empty()) {
      // Kept across reloads: a manual failover holds until the admin's failback call.
      auto& groups = pool_groups_[p.name];
      if (!groups) {
        groups = std::make_shared<upstream::GroupState>();
      }
      rt->groups = groups;
      group_states[p.name] = groups;
    }
    for (const auto& b : p.backends) {
      const std::string key = p.name + "/" + b.address.toString();
      auto& state = backends_[key];
      if (!state) {
        state = std::make_shared<upstream::BackendState>(b.address);
        if (generation_ != 0) {
          // Added by a reload or discovery, not there at start-up: slow start ramps it.
          state->up_since_ms.store(core::monotonicMs(), std::memory_order_relaxed);
        }
      }
      backends[key] = state;
      rt->backends.push_back(state);
    }
    snap->pools.push_back(std::move(rt));
  }
  // Forget backends and pools that left the config; snapshots still using them hold references.
  backends_ = std::move(backends);
  pool_generations_ = std::move(generations);
  pool_circuits_ = std::move(circuits);
  pool_groups_ = std::move(group_states);
  snap->generation = ++generation_;
  return snap;
}

}  // namespace ballast::server
