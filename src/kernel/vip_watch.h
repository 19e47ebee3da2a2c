// src/kernel/vip_watch.h — which IP addresses this node holds, kept current over rtnetlink
// (RTNLGRP_IPV4_IFADDR / RTNLGRP_IPV6_IFADDR, after one RTM_GETADDR dump). The kernel plane
// reconciles only while a gated VIP is here: keepalived or FRR moves it, Ballast follows.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "net/address.h"

struct mnl_socket;

namespace ballast::kernel {

class VipWatch final : public core::WatchHandler {
 public:
  explicit VipWatch(core::EventLoop& loop);
  ~VipWatch();
  VipWatch(const VipWatch&) = delete;
  VipWatch& operator=(const VipWatch&) = delete;

  // Opens the socket, subscribes and dumps. False with *error when netlink is unusable.
  bool start(std::string* error);
  void stop();
  // Called on the loop thread after the set of local addresses changed.
  void setOnChange(std::function<void()> fn) { on_change_ = std::move(fn); }
  // True once the first dump has been read: before that, has() knows nothing.
  bool ready() const { return ready_; }
  // Whether `address` (port ignored) is on any interface of this node.
  bool has(const net::SocketAddress& address) const;

  void onReady(core::Watcher& w) override;

  // One blocking dump, for `ballast apply` (no loop): the addresses present now.
  static bool snapshot(std::vector<net::SocketAddress>* out, std::string* error);

 private:
  bool requestDump(std::string* error);

  core::EventLoop& loop_;
  mnl_socket* nl_ = nullptr;
  core::Watcher watcher_;
  uint32_t seq_ = 0;
  bool dumping_ = false;
  bool ready_ = false;
  bool redump_ = false;                 // the socket overflowed: the set may be stale
  std::map<std::string, int> present_;  // address text → interfaces holding it
  std::function<void()> on_change_;
};

}  // namespace ballast::kernel
