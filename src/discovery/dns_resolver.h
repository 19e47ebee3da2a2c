// src/discovery/dns_resolver.h — asynchronous DNS lookups (A+AAAA, SRV) through c-ares, driven
// by the control thread's event loop: c-ares's sockets are watched for reading, and a short
// tick runs its timeouts (and its writes, for TCP fallback) while lookups are in flight.
#pragma once

#include <ares.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "net/address.h"

namespace ballast::discovery {

struct AddressAnswer {
  bool ok = false;
  std::string error;                          // when !ok: c-ares's reason
  std::vector<net::SocketAddress> addresses;  // with the port asked for
  uint32_t ttl_s = 0;                         // the smallest TTL of the answer
};

struct SrvRecord {
  std::string target;
  uint16_t port = 0;
  uint16_t priority = 0;
  uint16_t weight = 0;
};

struct SrvAnswer {
  bool ok = false;
  std::string error;
  std::vector<SrvRecord> records;
};

class DnsResolver final : public core::WatchHandler {
 public:
  // `servers` empty: /etc/resolv.conf's. nullptr and *error when c-ares cannot start.
  static std::unique_ptr<DnsResolver> create(core::EventLoop& loop,
                                             const std::vector<net::SocketAddress>& servers,
                                             std::string* error);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // A and AAAA of `host`. `done` may run inside this call (an answer c-ares has at hand).
  void lookup(const std::string& host, uint16_t port, std::function<void(AddressAnswer)> done);
  void lookupSrv(const std::string& name, std::function<void(SrvAnswer)> done);

  void onReady(core::Watcher& w) override;
  void onReleased(core::Watcher& w) override;

 private:
  explicit DnsResolver(core::EventLoop& loop) : loop_(loop) {}
  static void onSocketState(void* self, ares_socket_t fd, int readable, int writable);
  static void onTick(void* self);
  void armTick();

  core::EventLoop& loop_;
  ares_channel channel_ = nullptr;
  std::map<int, std::unique_ptr<core::Watcher>> watched_;  // c-ares sockets by fd
  std::vector<std::unique_ptr<core::Watcher>> releasing_;  // unwatched, not yet released
  core::Timer tick_;
  size_t pending_ = 0;  // lookups whose callback has not run
};

}  // namespace ballast::discovery
