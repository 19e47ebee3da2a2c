// src/uplink/netlink.h — rtnetlink over libmnl: one socket for requests (each answered by its
// ack before the next is sent) and one non-blocking socket subscribed to link, address, route
// and neighbour events. No iproute2 in between: the daemon never shells out.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ballast::uplink {

struct MnlSocketDeleter {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};

class NetlinkSocket {
 public:
  // groups: RTMGRP_* bits to subscribe to (0 for a request socket). Nullptr with *err = errno.
  static std::unique_ptr<NetlinkSocket> open(unsigned groups, bool nonblocking, int* err);

  int fd() const;
  // Sends one request (NLM_F_ACK is added) and waits for its answer: 0 or -errno.
  int request(nlmsghdr* nlh);
  // Sends a dump request and hands each answer message to `each`: 0 or -errno.
  int dump(nlmsghdr* nlh, const std::function<void(const nlmsghdr*)>& each);
  // Non-blocking socket: reads every queued message. Returns false when the kernel dropped
  // events (ENOBUFS), so the caller must re-read the whole state.
  bool drain(const std::function<void(const nlmsghdr*)>& each);

 private:
  explicit NetlinkSocket(mnl_socket* s) : sock_(s) {}
  std::unique_ptr<mnl_socket, MnlSocketDeleter> sock_;
  uint32_t seq_ = 1;
  std::vector<char> buf_ = std::vector<char>(MNL_SOCKET_BUFFER_SIZE);
};

}  // namespace ballast::uplink
