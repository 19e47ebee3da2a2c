// src/kernel/ipvs_netlink.cpp — the IPVS generic netlink codec and client (see ipvs_netlink.h).
// The encoding follows net/netfilter/ipvs/ip_vs_ctl.c: ip_vs_genl_parse_service() and
// ip_vs_genl_parse_dest() on the way in, ip_vs_genl_fill_service()/_dest() on the way out.
#include "kernel/ipvs_netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "net/netlink_check.h"

namespace ballast::kernel {
namespace {

constexpr size_t kInetAddrBytes = 16;  // sizeof(union nf_inet_addr)
constexpr size_t kIpv4Bytes = 4;
constexpr uint8_t kCtrlVersion = 1;
constexpr uint32_t kIpvsVersionMajorShift = 16;
constexpr uint32_t kIpvsVersionMinorShift = 8;
constexpr uint32_t kIpvsVersionByte = 0xff;

core::Error badInput(std::string_view what) { return core::Error{core::Errc::kBadInput, what}; }

// Attributes of one nesting level, indexed by type; later types (newer kernels) are ignored.
template <size_t N>
struct AttrTable {
  std::array<const nlattr*, N + 1> at{};
};

template <size_t N>
int collectAttr(const nlattr* attr, void* data) {
  auto* table = static_cast<AttrTable<N>*>(data);
  const uint16_t type = mnl_attr_get_type(attr);
  if (type <= N) {
    table->at[type] = attr;
  }
  return MNL_CB_OK;
}

bool validU16(const nlattr* a) { return mnl_attr_validate(a, MNL_TYPE_U16) >= 0; }
bool validU32(const nlattr* a) { return mnl_attr_validate(a, MNL_TYPE_U32) >= 0; }

std::optional<net::SocketAddress> makeAddress(uint16_t af, const nlattr* addr, uint16_t port_be) {
  const size_t len = mnl_attr_get_payload_len(addr);
  const auto* bytes = static_cast<const uint8_t*>(mnl_attr_get_payload(addr));
  if (af == AF_INET && len >= kIpv4Bytes) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = port_be;
    std::memcpy(&sin.sin_addr, bytes, kIpv4Bytes);
    return net::SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
  }
  if (af == AF_INET6 && len >= kInetAddrBytes) {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = port_be;
    std::memcpy(&sin6.sin6_addr, bytes, kInetAddrBytes);
    return net::SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
  }
  return std::nullopt;
}

// The kernel copies sizeof(union nf_inet_addr) bytes, so IPv4 goes out zero-padded to 16.
void putAddress(nlmsghdr* nlh, uint16_t type, const net::SocketAddress& a) {
  std::array<uint8_t, kInetAddrBytes> raw{};
  const std::string_view bytes = a.addressBytes();
  std::memcpy(raw.data(), bytes.data(), std::min(bytes.size(), raw.size()));
  mnl_attr_put(nlh, type, raw.size(), raw.data());
}

void putService(nlmsghdr* nlh, const IpvsService& s, bool full) {
  nlattr* nest = mnl_attr_nest_start(nlh, IPVS_CMD_ATTR_SERVICE);
  mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_AF, s.af);
  if (s.fwmark != 0) {
    mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_FWMARK, s.fwmark);
  } else {
    mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_PROTOCOL, s.protocol);
    putAddress(nlh, IPVS_SVC_ATTR_ADDR, s.address);
    mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_PORT, htons(s.address.port()));
  }
  if (full) {
    mnl_attr_put_strz(nlh, IPVS_SVC_ATTR_SCHED_NAME, s.scheduler.c_str());
    // mask all ones: the flags sent replace the service's (ipvsadm does the same).
    const ip_vs_flags flags{.flags = s.flags & kIpvsUserFlags, .mask = ~0U};
    mnl_attr_put(nlh, IPVS_SVC_ATTR_FLAGS, sizeof(flags), &flags);
    mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_TIMEOUT, s.timeout_s);
    // A raw u32: the kernel reads it with nla_get_be32 but never swaps it.
    mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_NETMASK, s.netmask);
  }
  mnl_attr_nest_end(nlh, nest);
}

void putDest(nlmsghdr* nlh, const IpvsDest& d, bool full) {
  nlattr* nest = mnl_attr_nest_start(nlh, IPVS_CMD_ATTR_DEST);
  putAddress(nlh, IPVS_DEST_ATTR_ADDR, d.address);
  mnl_attr_put_u16(nlh, IPVS_DEST_ATTR_PORT, htons(d.address.port()));
  mnl_attr_put_u16(nlh, IPVS_DEST_ATTR_ADDR_FAMILY, static_cast<uint16_t>(d.address.family()));
  if (full) {
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_FWD_METHOD, static_cast<uint32_t>(d.forward));
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_WEIGHT, d.weight);
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_U_THRESH, d.upper_threshold);
    mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_L_THRESH, d.lower_threshold);
  }
  mnl_attr_nest_end(nlh, nest);
}

// The top-level attributes of a generic netlink message.
template <size_t N>
bool parseTop(const nlmsghdr* nlh, AttrTable<N>& table) {
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(genlmsghdr))) {
    return false;
  }
  return mnl_attr_parse(nlh, sizeof(genlmsghdr), collectAttr<N>, &table) >= 0;
}

template <size_t N>
bool parseNested(const nlattr* nest, AttrTable<N>& table) {
  if (mnl_attr_validate(nest, MNL_TYPE_NESTED) < 0) {
    return false;
  }
  return mnl_attr_parse_nested(nest, collectAttr<N>, &table) >= 0;
}

std::string errnoText(int err) {
  std::string text = std::strerror(err);
  if (err == EPERM) {
    text += " (needs CAP_NET_ADMIN)";
  }
  return text;
}

}  // namespace

std::string IpvsService::describe() const {
  const std::string family = af == AF_INET6 ? "inet6" : "inet";
  if (fwmark != 0) {
    return "fwmark " + std::to_string(fwmark) + "/" + family;
  }
  const char* proto = protocol == IPPROTO_TCP    ? "tcp"
                      : protocol == IPPROTO_UDP  ? "udp"
                      : protocol == IPPROTO_SCTP ? "sctp"
                                                 : "proto";
  return std::string(proto) + " " + address.toString();
}

std::string IpvsInfo::versionString() const {
  return std::to_string((version >> kIpvsVersionMajorShift) & kIpvsVersionByte) + "." +
         std::to_string((version >> kIpvsVersionMinorShift) & kIpvsVersionByte) + "." +
         std::to_string(version & kIpvsVersionByte);
}

// --- codec -------------------------------------------------------------------------------------

core::Result<nlmsghdr*> encodeIpvsRequest(std::span<char> buf, const IpvsRequest& req) {
  if (buf.size() < kIpvsRequestBytes) {
    return badInput("ipvs: request buffer too small");
  }
  if (const IpvsService* s = req.service) {
    if (s->scheduler.size() >= IP_VS_SCHEDNAME_MAXLEN) {
      return badInput("ipvs: scheduler name too long");
    }
    if (s->fwmark == 0 && s->address.family() != s->af) {
      return badInput("ipvs: service address family does not match af");
    }
  }
  std::memset(buf.data(), 0, kIpvsRequestBytes);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = req.family_id;
  nlh->nlmsg_flags = NLM_F_REQUEST | req.flags;
  nlh->nlmsg_seq = req.seq;
  auto* genl = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
  genl->cmd = req.cmd;
  genl->version = IPVS_GENL_VERSION;
  if (req.service != nullptr) {
    putService(nlh, *req.service, req.full_service);
  }
  if (req.dest != nullptr) {
    putDest(nlh, *req.dest, req.full_dest);
  }
  return nlh;
}

nlmsghdr* encodeGetFamily(std::span<char> buf, uint32_t seq) {
  std::memset(buf.data(), 0, std::min(buf.size(), kIpvsRequestBytes));
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = GENL_ID_CTRL;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = seq;
  auto* genl = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
  genl->cmd = CTRL_CMD_GETFAMILY;
  genl->version = kCtrlVersion;
  mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME);
  return nlh;
}

core::Result<uint16_t> decodeFamilyId(const nlmsghdr* nlh) {
  AttrTable<CTRL_ATTR_MAX> top;
  if (!parseTop(nlh, top) || top.at[CTRL_ATTR_FAMILY_ID] == nullptr ||
      !validU16(top.at[CTRL_ATTR_FAMILY_ID])) {
    return badInput("genl: reply without a family id");
  }
  return mnl_attr_get_u16(top.at[CTRL_ATTR_FAMILY_ID]);
}

core::Result<IpvsService> decodeIpvsService(const nlmsghdr* nlh) {
  AttrTable<IPVS_CMD_ATTR_MAX> top;
  AttrTable<IPVS_SVC_ATTR_MAX> svc;
  if (!parseTop(nlh, top) || top.at[IPVS_CMD_ATTR_SERVICE] == nullptr ||
      !parseNested(top.at[IPVS_CMD_ATTR_SERVICE], svc)) {
    return badInput("ipvs: message without a service");
  }
  const auto& a = svc.at;
  if (a[IPVS_SVC_ATTR_AF] == nullptr || !validU16(a[IPVS_SVC_ATTR_AF])) {
    return badInput("ipvs: service without an address family");
  }
  IpvsService s;
  s.af = mnl_attr_get_u16(a[IPVS_SVC_ATTR_AF]);
  s.netmask = s.af == AF_INET6 ? kIpvsNetmaskV6Host : kIpvsNetmaskV4Host;
  if (a[IPVS_SVC_ATTR_FWMARK] != nullptr && validU32(a[IPVS_SVC_ATTR_FWMARK])) {
    s.fwmark = mnl_attr_get_u32(a[IPVS_SVC_ATTR_FWMARK]);
  }
  if (s.fwmark == 0) {
    if (a[IPVS_SVC_ATTR_PROTOCOL] == nullptr || !validU16(a[IPVS_SVC_ATTR_PROTOCOL]) ||
        a[IPVS_SVC_ATTR_ADDR] == nullptr || a[IPVS_SVC_ATTR_PORT] == nullptr ||
        !validU16(a[IPVS_SVC_ATTR_PORT])) {
      return badInput("ipvs: service without protocol, address or port");
    }
    s.protocol = mnl_attr_get_u16(a[IPVS_SVC_ATTR_PROTOCOL]);
    auto addr = makeAddress(s.af, a[IPVS_SVC_ATTR_ADDR], mnl_attr_get_u16(a[IPVS_SVC_ATTR_PORT]));
    if (!addr) {
      return badInput("ipvs: service address of the wrong size");
    }
    s.address = *addr;
  } else {
    s.protocol = 0;
  }
  if (const nlattr* n = a[IPVS_SVC_ATTR_SCHED_NAME]) {
    if (mnl_attr_validate(n, MNL_TYPE_NUL_STRING) < 0) {
      return badInput("ipvs: scheduler name not a string");
    }
    s.scheduler = mnl_attr_get_str(n);
  }
  if (const nlattr* f = a[IPVS_SVC_ATTR_FLAGS]) {
    if (mnl_attr_get_payload_len(f) != sizeof(ip_vs_flags)) {
      return badInput("ipvs: service flags of the wrong size");
    }
    ip_vs_flags flags{};
    std::memcpy(&flags, mnl_attr_get_payload(f), sizeof(flags));
    s.flags = flags.flags & flags.mask & kIpvsUserFlags;
  }
  if (a[IPVS_SVC_ATTR_TIMEOUT] != nullptr && validU32(a[IPVS_SVC_ATTR_TIMEOUT])) {
    s.timeout_s = mnl_attr_get_u32(a[IPVS_SVC_ATTR_TIMEOUT]);
  }
  if (a[IPVS_SVC_ATTR_NETMASK] != nullptr && validU32(a[IPVS_SVC_ATTR_NETMASK])) {
    s.netmask = mnl_attr_get_u32(a[IPVS_SVC_ATTR_NETMASK]);
  }
  return s;
}

core::Result<IpvsDest> decodeIpvsDest(const nlmsghdr* nlh, uint16_t service_af) {
  AttrTable<IPVS_CMD_ATTR_MAX> top;
  AttrTable<IPVS_DEST_ATTR_MAX> dst;
  if (!parseTop(nlh, top) || top.at[IPVS_CMD_ATTR_DEST] == nullptr ||
      !parseNested(top.at[IPVS_CMD_ATTR_DEST], dst)) {
    return badInput("ipvs: message without a destination");
  }
  const auto& a = dst.at;
  if (a[IPVS_DEST_ATTR_ADDR] == nullptr || a[IPVS_DEST_ATTR_PORT] == nullptr ||
      !validU16(a[IPVS_DEST_ATTR_PORT])) {
    return badInput("ipvs: destination without address or port");
  }
  // Kernels before 4.2 send no family: the destination then has the service's.
  uint16_t af = service_af;
  if (a[IPVS_DEST_ATTR_ADDR_FAMILY] != nullptr && validU16(a[IPVS_DEST_ATTR_ADDR_FAMILY])) {
    af = mnl_attr_get_u16(a[IPVS_DEST_ATTR_ADDR_FAMILY]);
  }
  auto addr = makeAddress(af, a[IPVS_DEST_ATTR_ADDR], mnl_attr_get_u16(a[IPVS_DEST_ATTR_PORT]));
  if (!addr) {
    return badInput("ipvs: destination address of the wrong size");
  }
  IpvsDest d;
  d.address = *addr;
  auto u32 = [&a](int type, uint32_t fallback) {
    return a[type] != nullptr && validU32(a[type]) ? mnl_attr_get_u32(a[type]) : fallback;
  };
  d.forward = static_cast<IpvsForward>(u32(IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ) &
                                       IP_VS_CONN_F_FWD_MASK);
  d.weight = u32(IPVS_DEST_ATTR_WEIGHT, 0);
  d.upper_threshold = u32(IPVS_DEST_ATTR_U_THRESH, 0);
  d.lower_threshold = u32(IPVS_DEST_ATTR_L_THRESH, 0);
  d.active_conns = u32(IPVS_DEST_ATTR_ACTIVE_CONNS, 0);
  d.inactive_conns = u32(IPVS_DEST_ATTR_INACT_CONNS, 0);
  d.persist_conns = u32(IPVS_DEST_ATTR_PERSIST_CONNS, 0);
  return d;
}

core::Result<IpvsInfo> decodeIpvsInfo(const nlmsghdr* nlh) {
  AttrTable<IPVS_INFO_ATTR_MAX> top;
  if (!parseTop(nlh, top) || top.at[IPVS_INFO_ATTR_VERSION] == nullptr ||
      !validU32(top.at[IPVS_INFO_ATTR_VERSION])) {
    return badInput("ipvs: info reply without a version");
  }
  IpvsInfo info;
  info.version = mnl_attr_get_u32(top.at[IPVS_INFO_ATTR_VERSION]);
  if (const nlattr* t = top.at[IPVS_INFO_ATTR_CONN_TAB_SIZE]; t != nullptr && validU32(t)) {
    info.conn_table_size = mnl_attr_get_u32(t);
  }
  return info;
}

// --- client ------------------------------------------------------------------------------------

void IpvsClient::Deleter::operator()(mnl_socket* s) const { mnl_socket_close(s); }

IpvsClient::~IpvsClient() = default;

core::Result<std::unique_ptr<IpvsClient>> IpvsClient::open(std::string* error) {
  std::unique_ptr<IpvsClient> c(new IpvsClient());  // NOLINT: private constructor
  c->socket_.reset(mnl_socket_open(NETLINK_GENERIC));
  if (!c->socket_) {
    const int err = errno;
    *error = "netlink socket: " + errnoText(err);
    return core::Error{core::Errc::kSystem, "ipvs: cannot open a netlink socket", err};
  }
  if (mnl_socket_bind(c->socket_.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    const int err = errno;
    *error = "netlink bind: " + errnoText(err);
    return core::Error{core::Errc::kSystem, "ipvs: cannot bind a netlink socket", err};
  }
  c->port_id_ = mnl_socket_get_portid(c->socket_.get());
  c->seq_ = static_cast<uint32_t>(time(nullptr));

  struct Found {
    uint16_t id = 0;
  } found;
  const nlmsghdr* req = encodeGetFamily(c->request_, ++c->seq_);
  auto cb = [](const nlmsghdr* nlh, void* data) {
    if (auto id = decodeFamilyId(nlh)) {
      static_cast<Found*>(data)->id = *id;
    }
    return MNL_CB_OK;
  };
  auto r = c->exchange(req, cb, &found, "resolve generic netlink family IPVS");
  if (!r || found.id == 0) {
    const int err = r ? ENOENT : r.error().sys_errno;
    if (err == ENOENT) {
      *error = "IPVS not available: modprobe ip_vs";
      return core::Error{core::Errc::kSystem, "IPVS not available: modprobe ip_vs", err};
    }
    *error = c->last_error_;
    return core::Error{core::Errc::kSystem, "ipvs: cannot resolve the IPVS family", err};
  }
  c->family_id_ = found.id;
  return c;
}

core::Result<core::Ok> IpvsClient::exchange(const nlmsghdr* nlh, Callback cb, void* data,
                                            const std::string& what) {
  const uint32_t seq = nlh->nlmsg_seq;
  if (mnl_socket_sendto(socket_.get(), nlh, nlh->nlmsg_len) < 0) {
    const int err = errno;
    last_error_ = what + ": send: " + errnoText(err);
    return core::Error{core::Errc::kSystem, "ipvs: netlink send failed", err};
  }
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(socket_.get(), receive_.data(), receive_.size());
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) {
        continue;
      }
      last_error_ = what + ": receive: " + errnoText(err);
      return core::Error{core::Errc::kSystem, "ipvs: netlink receive failed", err};
    }
    if (!net::netlinkBufferValid(receive_.data(), static_cast<size_t>(n))) {
      last_error_ = what + ": malformed netlink reply";
      return core::Error{core::Errc::kBadInput, "ipvs: malformed netlink reply"};
    }
    const int rc = mnl_cb_run(receive_.data(), static_cast<size_t>(n), seq, port_id_, cb, data);
    if (rc == MNL_CB_STOP) {
      return core::Ok{};
    }
    if (rc == MNL_CB_ERROR) {
      const int err = errno;
      last_error_ = what + ": " + errnoText(err);
      return core::Error{core::Errc::kSystem, "ipvs: the kernel refused the request", err};
    }
  }
}

core::Result<IpvsInfo> IpvsClient::info() {
  IpvsRequest req{
      .family_id = family_id_, .cmd = IPVS_CMD_GET_INFO, .flags = NLM_F_ACK, .seq = ++seq_};
  auto nlh = encodeIpvsRequest(request_, req);
  if (!nlh) {
    return nlh.error();
  }
  struct Out {
    std::optional<IpvsInfo> info;
  } out;
  auto cb = [](const nlmsghdr* m, void* data) {
    if (auto i = decodeIpvsInfo(m)) {
      static_cast<Out*>(data)->info = *i;
    }
    return MNL_CB_OK;
  };
  if (auto r = exchange(*nlh, cb, &out, "get IPVS info"); !r) {
    return r.error();
  }
  if (!out.info) {
    last_error_ = "get IPVS info: no reply";
    return badInput("ipvs: no info in the reply");
  }
  return *out.info;
}

namespace {

// Dump replies: each decoded item is kept; a malformed one is counted, not fatal to the read,
// so that the dump is always drained (a half-read dump would desync the socket).
template <typename T>
struct DumpOut {
  std::vector<T> items;
  uint16_t service_af = AF_INET;
  int bad = 0;
};

int serviceCb(const nlmsghdr* m, void* data) {
  auto* out = static_cast<DumpOut<IpvsService>*>(data);
  if (auto s = decodeIpvsService(m)) {
    out->items.push_back(std::move(*s));
  } else {
    ++out->bad;
  }
  return MNL_CB_OK;
}

int destCb(const nlmsghdr* m, void* data) {
  auto* out = static_cast<DumpOut<IpvsDest>*>(data);
  if (auto d = decodeIpvsDest(m, out->service_af)) {
    out->items.push_back(*d);
  } else {
    ++out->bad;
  }
  return MNL_CB_OK;
}

}  // namespace

core::Result<std::vector<IpvsService>> IpvsClient::listServices() {
  IpvsRequest req{
      .family_id = family_id_, .cmd = IPVS_CMD_GET_SERVICE, .flags = NLM_F_DUMP, .seq = ++seq_};
  auto nlh = encodeIpvsRequest(request_, req);
  if (!nlh) {
    return nlh.error();
  }
  DumpOut<IpvsService> out;
  if (auto r = exchange(*nlh, serviceCb, &out, "list IPVS services"); !r) {
    return r.error();
  }
  if (out.bad > 0) {
    last_error_ = "list IPVS services: " + std::to_string(out.bad) + " malformed replies";
    return badInput("ipvs: malformed service in the dump");
  }
  return std::move(out.items);
}

core::Result<std::vector<IpvsDest>> IpvsClient::listDests(const IpvsService& service) {
  IpvsRequest req{.family_id = family_id_,
                  .cmd = IPVS_CMD_GET_DEST,
                  .flags = NLM_F_DUMP,
                  .seq = ++seq_,
                  .service = &service};
  auto nlh = encodeIpvsRequest(request_, req);
  if (!nlh) {
    last_error_ =
        "list destinations of " + service.describe() + ": " + std::string(nlh.error().what);
    return nlh.error();
  }
  DumpOut<IpvsDest> out;
  out.service_af = service.af;
  if (auto r = exchange(*nlh, destCb, &out, "list destinations of " + service.describe()); !r) {
    return r.error();
  }
  if (out.bad > 0) {
    last_error_ = "list destinations of " + service.describe() + ": malformed replies";
    return badInput("ipvs: malformed destination in the dump");
  }
  return std::move(out.items);
}

core::Result<core::Ok> IpvsClient::change(uint8_t cmd, const IpvsService& service,
                                          bool full_service, const IpvsDest* dest, bool full_dest,
                                          const std::string& what) {
  IpvsRequest req{.family_id = family_id_,
                  .cmd = cmd,
                  .flags = NLM_F_ACK,
                  .seq = ++seq_,
                  .service = &service,
                  .full_service = full_service,
                  .dest = dest,
                  .full_dest = full_dest};
  auto nlh = encodeIpvsRequest(request_, req);
  if (!nlh) {
    last_error_ = what + ": " + std::string(nlh.error().what);
    return nlh.error();
  }
  auto noop = [](const nlmsghdr*, void*) { return MNL_CB_OK; };
  auto r = exchange(*nlh, noop, nullptr, what);
  if (!r && r.error().sys_errno == ENOENT && cmd == IPVS_CMD_NEW_SERVICE) {
    last_error_ += " (scheduler " + service.scheduler + " not available? modprobe ip_vs_" +
                   service.scheduler + ")";
  }
  return r;
}

core::Result<core::Ok> IpvsClient::addService(const IpvsService& s) {
  return change(IPVS_CMD_NEW_SERVICE, s, true, nullptr, false, "add service " + s.describe());
}

core::Result<core::Ok> IpvsClient::updateService(const IpvsService& s) {
  return change(IPVS_CMD_SET_SERVICE, s, true, nullptr, false, "update service " + s.describe());
}

core::Result<core::Ok> IpvsClient::deleteService(const IpvsService& s) {
  return change(IPVS_CMD_DEL_SERVICE, s, false, nullptr, false, "delete service " + s.describe());
}

core::Result<core::Ok> IpvsClient::addDest(const IpvsService& s, const IpvsDest& d) {
  return change(IPVS_CMD_NEW_DEST, s, false, &d, true,
                "add destination " + d.address.toString() + " to " + s.describe());
}

core::Result<core::Ok> IpvsClient::updateDest(const IpvsService& s, const IpvsDest& d) {
  return change(IPVS_CMD_SET_DEST, s, false, &d, true,
                "update destination " + d.address.toString() + " of " + s.describe());
}

core::Result<core::Ok> IpvsClient::deleteDest(const IpvsService& s, const IpvsDest& d) {
  return change(IPVS_CMD_DEL_DEST, s, false, &d, false,
                "delete destination " + d.address.toString() + " from " + s.describe());
}

}  // namespace ballast::kernel
