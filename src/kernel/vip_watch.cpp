// src/kernel/vip_watch.cpp — rtnetlink address events with libmnl.
#include "kernel/vip_watch.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/log.h"
#include "net/netlink_check.h"

namespace ballast::kernel {
namespace {

// Big enough for a dump batch of many addresses; MNL_SOCKET_BUFFER_SIZE is at most 8 KiB.
constexpr size_t kReceiveBuffer = 32 * 1024;

struct AddrEvent {
  bool add = false;
  std::string text;
};

// IFA_LOCAL is the address itself on point-to-point links; IFA_ADDRESS otherwise.
int attrCallback(const nlattr* attr, void* data) {
  auto* tb = static_cast<const nlattr**>(data);
  const int type = mnl_attr_get_type(attr);
  if (mnl_attr_type_valid(attr, IFA_MAX) < 0) {
    return MNL_CB_OK;
  }
  tb[type] = attr;
  return MNL_CB_OK;
}

std::string addressText(const ifaddrmsg* ifa, const nlattr* attr) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  const size_t want = ifa->ifa_family == AF_INET6 ? 16 : 4;
  if (attr == nullptr || mnl_attr_get_payload_len(attr) < want ||
      inet_ntop(ifa->ifa_family, mnl_attr_get_payload(attr), buf.data(), buf.size()) == nullptr) {
    return "";
  }
  return buf.data();
}

int messageCallback(const nlmsghdr* nlh, void* data) {
  auto* events = static_cast<std::vector<AddrEvent>*>(data);
  if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR) {
    return MNL_CB_OK;
  }
  if (!net::netlinkHasHeader(nlh, sizeof(ifaddrmsg))) {
    return MNL_CB_OK;
  }
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  std::array<const nlattr*, IFA_MAX + 1> tb{};
  mnl_attr_parse(nlh, sizeof(*ifa), attrCallback, tb.data());
  const nlattr* a = tb[IFA_LOCAL] != nullptr ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  std::string text = addressText(ifa, a);
  if (!text.empty()) {
    events->push_back(
        {nlh->nlmsg_type == RTM_NEWADDR, std::move(text) + "%" + std::to_string(ifa->ifa_index)});
  }
  return MNL_CB_OK;
}

std::string keyOf(const net::SocketAddress& a) { return a.hostString(); }

bool sendDump(mnl_socket* nl, uint32_t seq, std::string* error) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_UNSPEC;
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
    *error = std::string("rtnetlink RTM_GETADDR: ") + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

VipWatch::VipWatch(core::EventLoop& loop) : loop_(loop) {}

VipWatch::~VipWatch() { stop(); }

bool VipWatch::start(std::string* error) {
  nl_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (nl_ == nullptr) {
    *error = std::string("rtnetlink socket: ") + std::strerror(errno);
    return false;
  }
  if (mnl_socket_bind(nl_, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, MNL_SOCKET_AUTOPID) < 0) {
    *error = std::string("rtnetlink bind: ") + std::strerror(errno);
    stop();
    return false;
  }
  seq_ = static_cast<uint32_t>(time(nullptr));
  if (!requestDump(error)) {
    stop();
    return false;
  }
  loop_.watch(watcher_, mnl_socket_get_fd(nl_), this);
  return true;
}

void VipWatch::stop() {
  if (nl_ == nullptr) {
    return;
  }
  if (watcher_.active()) {
    loop_.unwatch(watcher_);
  }
  mnl_socket_close(nl_);
  nl_ = nullptr;
  ready_ = false;
  present_.clear();
}

bool VipWatch::requestDump(std::string* error) {
  present_.clear();
  dumping_ = true;
  redump_ = false;
  return sendDump(nl_, ++seq_, error);
}

bool VipWatch::has(const net::SocketAddress& address) const {
  const std::string key = keyOf(address) + "%";
  const auto it = present_.lower_bound(key);
  return it != present_.end() && it->first.starts_with(key);
}

void VipWatch::onReady(core::Watcher& /*w*/) {
  std::vector<char> buf(kReceiveBuffer);
  bool changed = false;
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      }
      if (errno == ENOBUFS) {
        // Events were lost: the only safe answer is a fresh dump once this one (if any) ends.
        redump_ = true;
        core::LogLine(core::LogLevel::kWarn, "kernel.vip_watch_overflow");
        continue;
      }
      core::LogLine(core::LogLevel::kError, "kernel.vip_watch_error").str("error", strerror(errno));
      break;
    }
    std::vector<AddrEvent> events;
    if (!net::netlinkBufferValid(buf.data(), static_cast<size_t>(n))) {
      core::LogLine(core::LogLevel::kError, "kernel.vip_watch_error").str("error", "malformed");
      continue;
    }
    // Events carry seq 0, dump replies ours: accept both.
    const int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, 0, messageCallback, &events);
    for (auto& e : events) {
      if (e.add) {
        changed |= present_.emplace(e.text, 1).second;
      } else {
        changed |= present_.erase(e.text) > 0;
      }
    }
    if (rc == MNL_CB_STOP) {
      dumping_ = false;  // NLMSG_DONE of our dump
      ready_ = true;
      changed = true;
    }
  }
  if (redump_ && !dumping_) {
    std::string error;
    if (!requestDump(&error)) {
      core::LogLine(core::LogLevel::kError, "kernel.vip_watch_error").str("error", error);
    }
  }
  if (changed && !dumping_ && on_change_) {
    on_change_();
  }
}

bool VipWatch::snapshot(std::vector<net::SocketAddress>* out, std::string* error) {
  mnl_socket* nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (nl == nullptr || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    *error = std::string("rtnetlink socket: ") + std::strerror(errno);
    if (nl != nullptr) {
      mnl_socket_close(nl);
    }
    return false;
  }
  const auto seq = static_cast<uint32_t>(time(nullptr));
  bool ok = sendDump(nl, seq, error);
  std::vector<char> buf(kReceiveBuffer);
  std::vector<AddrEvent> events;
  while (ok) {
    const ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n < 0) {
      *error = std::string("rtnetlink recv: ") + std::strerror(errno);
      ok = false;
      break;
    }
    if (!net::netlinkBufferValid(buf.data(), static_cast<size_t>(n))) {
      *error = "rtnetlink dump: malformed reply";
      ok = false;
      break;
    }
    const int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, mnl_socket_get_portid(nl),
                              messageCallback, &events);
    if (rc == MNL_CB_ERROR) {
      *error = std::string("rtnetlink dump: ") + std::strerror(errno);
      ok = false;
    }
    if (rc <= MNL_CB_STOP) {
      break;
    }
  }
  mnl_socket_close(nl);
  for (const auto& e : events) {
    if (auto a = net::SocketAddress::parse(e.text.substr(0, e.text.find('%')), true)) {
      out->push_back(*a);
    }
  }
  return ok;
}

}  // namespace ballast::kernel
