// src/server/snapshot.h — one loaded configuration made runnable: the Config value, each pool's
// shared run-time state and each listener's per-worker sockets. Immutable once published;
// workers hold it for as long as connections started under it live.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config_types.h"
#include "core/fd.h"
#include "tls/client_context.h"
#include "tls/server_context.h"
#include "upstream/pool_runtime.h"

namespace ballast::server {

// SO_REUSEPORT sockets of one listener, one per worker. Shared by successive snapshots while
// the listener stays in the config, so a reload never closes a listening socket that remains.
struct ListenerSockets {
  std::string key;  // "tcp 0.0.0.0:80"
  std::vector<core::Fd> per_worker;
  // Set when a binary upgrade handed these sockets to a new process: stopping must then only
  // stop accepting, never shut the shared socket down.
  std::atomic<bool> handed_over{false};
};

struct Snapshot {
  config::ConfigPtr config;
  uint64_t generation = 0;
  std::vector<std::unique_ptr<upstream::PoolRuntime>> pools;  // config->pools order
  std::vector<std::shared_ptr<ListenerSockets>> sockets;      // config->listeners order
  // protocol: https listeners' TLS contexts, config->listeners order (null for the others).
  // Built anew on every reload, so certificates and keys are re-read; open connections keep
  // the context they started with.
  std::vector<std::shared_ptr<tls::ServerContext>> tls;
  // pools[].tls contexts towards backends, config->pools order (null for cleartext pools).
  std::vector<std::shared_ptr<tls::ClientContext>> upstream_tls;

  // Index into `pools` of the pool called `name`; -1 when there is none.
  int poolIndex(const std::string& name) const;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Carries state that must survive reloads (backend health, pool generations, open sockets)
// from one snapshot to the next. Control thread only.
class SnapshotBuilder {
 public:
  explicit SnapshotBuilder(uint32_t workers) : workers_(workers) {}
  // Opens sockets for new listeners; nullptr and `error` when one cannot be bound, in which
  // case nothing changes.
  SnapshotPtr build(config::ConfigPtr config, const Snapshot* previous, std::string* error);
  uint32_t workers() const { return workers_; }
  // Listening sockets inherited from the process being upgraded, by listener key; build()
  // uses them instead of opening new ones (and takes what it uses).
  void adopt(std::map<std::string, std::vector<core::Fd>> inherited) {
    inherited_ = std::move(inherited);
  }

 private:
  std::shared_ptr<ListenerSockets> adoptInherited(const std::string& key,
                                                  std::vector<core::Fd>& fds,
                                                  const config::Listener& l);

  uint32_t workers_;
  uint64_t generation_ = 0;
  std::map<std::string, upstream::BackendStatePtr> backends_;  // "pool/address"
  std::map<std::string, std::shared_ptr<std::atomic<uint64_t>>> pool_generations_;
  std::map<std::string, std::shared_ptr<upstream::PoolCircuit>> pool_circuits_;  // likewise
  std::map<std::string, std::shared_ptr<upstream::GroupState>> pool_groups_;
  std::map<std::string, std::vector<core::Fd>> inherited_;
};

std::string listenerKey(const config::Listener& l);

}  // namespace ballast::server
