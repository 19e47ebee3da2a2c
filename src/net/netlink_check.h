// src/net/netlink_check.h — a received netlink buffer checked before libmnl walks it. libmnl's
// mnl_nlmsg_ok compares nlmsg_len as an int, so a length of 2^31 or more passes as negative and
// mnl_cb_run then loops on the same message or jumps past the buffer. Only the kernel (or a
// sender with CAP_NET_ADMIN) can send such a message, but a parser must not trust it.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstring>

namespace ballast::net {

// True when every message in buf[0, len) has a header and a length that fits what is left.
inline bool netlinkBufferValid(const void* buf, size_t len) {
  const auto* p = static_cast<const unsigned char*>(buf);
  size_t off = 0;
  while (off < len) {
    if (len - off < sizeof(nlmsghdr)) {
      return false;
    }
    nlmsghdr h{};
    std::memcpy(&h, p + off, sizeof(h));
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > len - off) {
      return false;
    }
    off += NLMSG_ALIGN(static_cast<size_t>(h.nlmsg_len));
  }
  return true;
}

// True when the message holds at least its family header (ifinfomsg, rtmsg, …).
inline bool netlinkHasHeader(const nlmsghdr* nlh, size_t header_size) {
  return nlh->nlmsg_len >= NLMSG_LENGTH(header_size);
}

}  // namespace ballast::net
