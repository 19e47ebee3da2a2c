// src/uplink/netlink.cpp — request/ack and dump loops over libmnl.
#include "uplink/netlink.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include "net/netlink_check.h"

namespace ballast::uplink {
namespace {

// Events arrive in bursts when links flap; a larger receive buffer makes ENOBUFS rarer.
constexpr int kEventBufferBytes = 1 << 20;

struct CallbackCtx {
  const std::function<void(const nlmsghdr*)>* each;
};

int onMessage(const nlmsghdr* nlh, void* data) {
  const auto* ctx = static_cast<CallbackCtx*>(data);
  (*ctx->each)(nlh);
  return MNL_CB_OK;
}

}  // namespace

std::unique_ptr<NetlinkSocket> NetlinkSocket::open(unsigned groups, bool nonblocking, int* err) {
  mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (s == nullptr) {
    *err = errno;
    return nullptr;
  }
  std::unique_ptr<NetlinkSocket> sock(new NetlinkSocket(s));  // NOLINT: private constructor
  if (groups != 0) {
    const int size = kEventBufferBytes;
    setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0) {
    *err = errno;
    return nullptr;
  }
  if (nonblocking) {
    const int fd = mnl_socket_get_fd(s);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return sock;
}

int NetlinkSocket::fd() const { return mnl_socket_get_fd(sock_.get()); }

int NetlinkSocket::request(nlmsghdr* nlh) {
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = seq_++;
  if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
    return -errno;
  }
  const unsigned portid = mnl_socket_get_portid(sock_.get());
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
    if (n < 0) {
      return -errno;
    }
    if (!net::netlinkBufferValid(buf_.data(), static_cast<size_t>(n))) {
      return -EBADMSG;
    }
    const int rc =
        mnl_cb_run(buf_.data(), static_cast<size_t>(n), nlh->nlmsg_seq, portid, nullptr, nullptr);
    if (rc == MNL_CB_ERROR) {
      return -errno;
    }
    if (rc == MNL_CB_STOP) {
      return 0;  // the ack (an nlmsgerr with error 0)
    }
  }
}

int NetlinkSocket::dump(nlmsghdr* nlh, const std::function<void(const nlmsghdr*)>& each) {
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq_++;
  if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
    return -errno;
  }
  const unsigned portid = mnl_socket_get_portid(sock_.get());
  CallbackCtx ctx{&each};
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
    if (n < 0) {
      return -errno;
    }
    if (!net::netlinkBufferValid(buf_.data(), static_cast<size_t>(n))) {
      return -EBADMSG;
    }
    const int rc =
        mnl_cb_run(buf_.data(), static_cast<size_t>(n), nlh->nlmsg_seq, portid, onMessage, &ctx);
    if (rc == MNL_CB_ERROR) {
      return -errno;
    }
    if (rc == MNL_CB_STOP) {
      return 0;
    }
  }
}

bool NetlinkSocket::drain(const std::function<void(const nlmsghdr*)>& each) {
  CallbackCtx ctx{&each};
  bool complete = true;
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == ENOBUFS) {
        complete = false;
        continue;
      }
      return complete;  // EAGAIN: drained
    }
    if (!net::netlinkBufferValid(buf_.data(), static_cast<size_t>(n))) {
      complete = false;  // a malformed batch is dropped; the next refresh re-reads everything
      continue;
    }
    mnl_cb_run(buf_.data(), static_cast<size_t>(n), 0, 0, onMessage, &ctx);
  }
}

}  // namespace ballast::uplink
