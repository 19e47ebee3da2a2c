// tests/unit/kernel/ipvs_netlink_test.cpp — the IPVS netlink codec without a kernel: requests
// are encoded and parsed back, and replies shaped like the kernel's are decoded.
#include "kernel/ipvs_netlink.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include <array>
#include <cstring>

namespace ballast::kernel {
namespace {

constexpr uint16_t kFamilyId = 0x2a;
constexpr uint16_t kUnknownAttr = 60;  // beyond every *_ATTR_MAX: a newer kernel's addition

net::SocketAddress addr(const char* text) { return *net::SocketAddress::parse(text); }

IpvsService webService() {
  IpvsService s;
  s.af = AF_INET;
  s.protocol = IPPROTO_TCP;
  s.address = addr("198.18.0.10:80");
  s.scheduler = "wrr";
  s.flags = IP_VS_SVC_F_PERSISTENT;
  s.timeout_s = 300;
  return s;
}

IpvsDest webDest() {
  IpvsDest d;
  d.address = addr("198.18.1.2:8080");
  d.forward = IpvsForward::kMasq;
  d.weight = 7;
  d.upper_threshold = 100;
  d.lower_threshold = 10;
  return d;
}

using Attrs = std::array<const nlattr*, 64>;

int collect(const nlattr* attr, void* data) {
  static_cast<Attrs*>(data)->at(mnl_attr_get_type(attr)) = attr;
  return MNL_CB_OK;
}

// The message's top-level attributes by type (libmnl's for_each macros are C only).
Attrs topAttrs(const nlmsghdr* nlh) {
  Attrs out{};
  mnl_attr_parse(nlh, sizeof(genlmsghdr), collect, &out);
  return out;
}

// The attributes nested under the message's top-level attribute `outer`, by type.
Attrs nestedAttrs(const nlmsghdr* nlh, uint16_t outer) {
  Attrs out{};
  if (const nlattr* nest = topAttrs(nlh).at(outer)) {
    mnl_attr_parse_nested(nest, collect, &out);
  }
  return out;
}

struct Buffer {
  std::array<char, kIpvsRequestBytes> bytes{};
};

TEST(IpvsNetlinkTest, ServiceRequestRoundTrips) {
  Buffer buf;
  const IpvsService s = webService();
  auto nlh = encodeIpvsRequest(buf.bytes, {.family_id = kFamilyId,
                                           .cmd = IPVS_CMD_NEW_SERVICE,
                                           .flags = NLM_F_ACK,
                                           .seq = 9,
                                           .service = &s,
                                           .full_service = true});
  ASSERT_TRUE(nlh);
  EXPECT_EQ((*nlh)->nlmsg_type, kFamilyId);
  EXPECT_EQ((*nlh)->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  EXPECT_EQ((*nlh)->nlmsg_seq, 9U);
  const auto* genl = static_cast<const genlmsghdr*>(mnl_nlmsg_get_payload(*nlh));
  EXPECT_EQ(genl->cmd, IPVS_CMD_NEW_SERVICE);
  EXPECT_EQ(genl->version, IPVS_GENL_VERSION);

  auto back = decodeIpvsService(*nlh);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s);
}

TEST(IpvsNetlinkTest, ServiceUsesTheKernelEncoding) {
  Buffer buf;
  const IpvsService s = webService();
  auto nlh = encodeIpvsRequest(
      buf.bytes,
      {.family_id = kFamilyId, .cmd = IPVS_CMD_NEW_SERVICE, .service = &s, .full_service = true});
  ASSERT_TRUE(nlh);
  const auto a = nestedAttrs(*nlh, IPVS_CMD_ATTR_SERVICE);
  ASSERT_NE(a[IPVS_SVC_ATTR_AF], nullptr);
  EXPECT_EQ(mnl_attr_get_u16(a[IPVS_SVC_ATTR_AF]), AF_INET);
  EXPECT_EQ(mnl_attr_get_u16(a[IPVS_SVC_ATTR_PROTOCOL]), IPPROTO_TCP);
  // union nf_inet_addr: 16 bytes, IPv4 in the first 4, the rest zero.
  ASSERT_EQ(mnl_attr_get_payload_len(a[IPVS_SVC_ATTR_ADDR]), 16U);
  const auto* raw = static_cast<const uint8_t*>(mnl_attr_get_payload(a[IPVS_SVC_ATTR_ADDR]));
  const std::array<uint8_t, 16> want{198, 18, 0, 10};
  EXPECT_EQ(std::memcmp(raw, want.data(), want.size()), 0);
  // Port in network order.
  EXPECT_EQ(mnl_attr_get_u16(a[IPVS_SVC_ATTR_PORT]), htons(80));
  EXPECT_STREQ(mnl_attr_get_str(a[IPVS_SVC_ATTR_SCHED_NAME]), "wrr");
  ASSERT_EQ(mnl_attr_get_payload_len(a[IPVS_SVC_ATTR_FLAGS]), sizeof(ip_vs_flags));
  ip_vs_flags flags{};
  std::memcpy(&flags, mnl_attr_get_payload(a[IPVS_SVC_ATTR_FLAGS]), sizeof(flags));
  EXPECT_EQ(flags.flags, static_cast<uint32_t>(IP_VS_SVC_F_PERSISTENT));
  EXPECT_EQ(flags.mask, ~0U);
  EXPECT_EQ(mnl_attr_get_u32(a[IPVS_SVC_ATTR_TIMEOUT]), 300U);
  EXPECT_EQ(mnl_attr_get_u32(a[IPVS_SVC_ATTR_NETMASK]), 0xffffffffU);
  EXPECT_EQ(a[IPVS_SVC_ATTR_FWMARK], nullptr);
}

TEST(IpvsNetlinkTest, KeyOnlyServiceCarriesNoSettings) {
  Buffer buf;
  const IpvsService s = webService();
  auto nlh = encodeIpvsRequest(
      buf.bytes, {.family_id = kFamilyId, .cmd = IPVS_CMD_DEL_SERVICE, .service = &s});
  ASSERT_TRUE(nlh);
  const auto a = nestedAttrs(*nlh, IPVS_CMD_ATTR_SERVICE);
  EXPECT_NE(a[IPVS_SVC_ATTR_ADDR], nullptr);
  EXPECT_NE(a[IPVS_SVC_ATTR_PORT], nullptr);
  EXPECT_EQ(a[IPVS_SVC_ATTR_SCHED_NAME], nullptr);
  EXPECT_EQ(a[IPVS_SVC_ATTR_FLAGS], nullptr);
  EXPECT_EQ(a[IPVS_SVC_ATTR_TIMEOUT], nullptr);
}

TEST(IpvsNetlinkTest, Ipv6AndFwmarkServicesRoundTrip) {
  Buffer buf;
  IpvsService v6;
  v6.af = AF_INET6;
  v6.protocol = IPPROTO_UDP;
  v6.address = addr("[2001:db8::10]:53");
  v6.scheduler = "sh";
  v6.netmask = kIpvsNetmaskV6Host;
  auto nlh = encodeIpvsRequest(
      buf.bytes,
      {.family_id = kFamilyId, .cmd = IPVS_CMD_NEW_SERVICE, .service = &v6, .full_service = true});
  ASSERT_TRUE(nlh);
  auto back = decodeIpvsService(*nlh);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, v6);
  EXPECT_EQ(back->describe(), "udp [2001:db8::10]:53");

  IpvsService mark;
  mark.fwmark = 7;
  mark.protocol = 0;
  mark.scheduler = "rr";
  nlh = encodeIpvsRequest(buf.bytes, {.family_id = kFamilyId,
                                      .cmd = IPVS_CMD_NEW_SERVICE,
                                      .service = &mark,
                                      .full_service = true});
  ASSERT_TRUE(nlh);
  const auto a = nestedAttrs(*nlh, IPVS_CMD_ATTR_SERVICE);
  EXPECT_EQ(a[IPVS_SVC_ATTR_ADDR], nullptr);  // a fwmark service has no address key
  back = decodeIpvsService(*nlh);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, mark);
  EXPECT_EQ(back->describe(), "fwmark 7/inet");
}

TEST(IpvsNetlinkTest, DestRequestRoundTrips) {
  Buffer buf;
  const IpvsService s = webService();
  for (IpvsForward fwd : {IpvsForward::kMasq, IpvsForward::kDirectRoute, IpvsForward::kTunnel}) {
    IpvsDest d = webDest();
    d.forward = fwd;
    auto nlh = encodeIpvsRequest(buf.bytes, {.family_id = kFamilyId,
                                             .cmd = IPVS_CMD_NEW_DEST,
                                             .service = &s,
                                             .dest = &d,
                                             .full_dest = true});
    ASSERT_TRUE(nlh);
    const auto a = nestedAttrs(*nlh, IPVS_CMD_ATTR_DEST);
    EXPECT_EQ(mnl_attr_get_u16(a[IPVS_DEST_ATTR_PORT]), htons(8080));
    EXPECT_EQ(mnl_attr_get_u32(a[IPVS_DEST_ATTR_FWD_METHOD]), static_cast<uint32_t>(fwd));
    EXPECT_EQ(mnl_attr_get_u32(a[IPVS_DEST_ATTR_WEIGHT]), 7U);
    EXPECT_EQ(mnl_attr_get_u16(a[IPVS_DEST_ATTR_ADDR_FAMILY]), AF_INET);
    // The service key travels beside the destination, as the kernel needs it to find it.
    EXPECT_NE(nestedAttrs(*nlh, IPVS_CMD_ATTR_SERVICE)[IPVS_SVC_ATTR_PORT], nullptr);
    auto back = decodeIpvsDest(*nlh, AF_INET);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, d);
  }
}

TEST(IpvsNetlinkTest, DecodesAKernelStyleDumpReply) {
  // As ip_vs_genl_fill_service() writes it: HASHED set, a stats nest, and an attribute this
  // code does not know (a newer kernel's).
  Buffer buf;
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.bytes.data());
  nlh->nlmsg_type = kFamilyId;
  auto* genl = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
  genl->cmd = IPVS_CMD_NEW_SERVICE;
  nlattr* svc = mnl_attr_nest_start(nlh, IPVS_CMD_ATTR_SERVICE);
  mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_AF, AF_INET);
  mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_PROTOCOL, IPPROTO_UDP);
  const std::array<uint8_t, 16> vip{198, 18, 0, 20};
  mnl_attr_put(nlh, IPVS_SVC_ATTR_ADDR, vip.size(), vip.data());
  mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_PORT, htons(53));
  mnl_attr_put_strz(nlh, IPVS_SVC_ATTR_SCHED_NAME, "mh");
  const ip_vs_flags flags{.flags = IP_VS_SVC_F_HASHED | IP_VS_SVC_F_PERSISTENT, .mask = ~0U};
  mnl_attr_put(nlh, IPVS_SVC_ATTR_FLAGS, sizeof(flags), &flags);
  mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_TIMEOUT, 60);
  mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_NETMASK, 0xffffffffU);
  nlattr* stats = mnl_attr_nest_start(nlh, IPVS_SVC_ATTR_STATS);
  mnl_attr_put_u32(nlh, IPVS_STATS_ATTR_CONNS, 5);
  mnl_attr_nest_end(nlh, stats);
  mnl_attr_put_u32(nlh, kUnknownAttr, 1);
  mnl_attr_nest_end(nlh, svc);

  auto s = decodeIpvsService(nlh);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->describe(), "udp 198.18.0.20:53");
  EXPECT_EQ(s->scheduler, "mh");
  EXPECT_EQ(s->flags, static_cast<uint32_t>(IP_VS_SVC_F_PERSISTENT));  // HASHED is the kernel's
  EXPECT_TRUE(s->persistent());
  EXPECT_EQ(s->timeout_s, 60U);
}

TEST(IpvsNetlinkTest, DecodesDestCountersAndOldKernelsWithoutFamily) {
  Buffer buf;
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.bytes.data());
  mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr));
  nlattr* dst = mnl_attr_nest_start(nlh, IPVS_CMD_ATTR_DEST);
  const std::array<uint8_t, 16> rip{198, 18, 1, 3};
  mnl_attr_put(nlh, IPVS_DEST_ATTR_ADDR, rip.size(), rip.data());
  mnl_attr_put_u16(nlh, IPVS_DEST_ATTR_PORT, htons(80));
  // The kernel reports the whole conn_flags; only the low bits are the method.
  mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_DROUTE | IP_VS_CONN_F_INACTIVE);
  mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_WEIGHT, 0);
  mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_ACTIVE_CONNS, 4);
  mnl_attr_put_u32(nlh, IPVS_DEST_ATTR_INACT_CONNS, 2);
  mnl_attr_nest_end(nlh, dst);

  auto d = decodeIpvsDest(nlh, AF_INET);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->address.toString(), "198.18.1.3:80");
  EXPECT_EQ(d->forward, IpvsForward::kDirectRoute);
  EXPECT_EQ(d->weight, 0U);
  EXPECT_EQ(d->active_conns, 4U);
  EXPECT_EQ(d->inactive_conns, 2U);
}

TEST(IpvsNetlinkTest, RejectsMalformedMessages) {
  Buffer buf;
  // No service attribute at all.
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.bytes.data());
  mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr));
  EXPECT_EQ(decodeIpvsService(nlh).error().code, core::Errc::kBadInput);
  EXPECT_EQ(decodeIpvsDest(nlh, AF_INET).error().code, core::Errc::kBadInput);
  EXPECT_EQ(decodeIpvsInfo(nlh).error().code, core::Errc::kBadInput);
  EXPECT_EQ(decodeFamilyId(nlh).error().code, core::Errc::kBadInput);

  // An IPv6 service whose address is 4 bytes, and flags of the wrong size.
  nlattr* svc = mnl_attr_nest_start(nlh, IPVS_CMD_ATTR_SERVICE);
  mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_AF, AF_INET6);
  mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
  mnl_attr_put_u32(nlh, IPVS_SVC_ATTR_ADDR, 0);
  mnl_attr_put_u16(nlh, IPVS_SVC_ATTR_PORT, htons(80));
  mnl_attr_nest_end(nlh, svc);
  EXPECT_EQ(decodeIpvsService(nlh).error().code, core::Errc::kBadInput);

  // A header shorter than the generic netlink header.
  nlh = mnl_nlmsg_put_header(buf.bytes.data());
  EXPECT_EQ(decodeIpvsService(nlh).error().code, core::Errc::kBadInput);
}

TEST(IpvsNetlinkTest, RefusesBadRequests) {
  Buffer buf;
  IpvsService s = webService();
  s.scheduler = "a-scheduler-name-too-long";
  auto r = encodeIpvsRequest(
      buf.bytes,
      {.family_id = kFamilyId, .cmd = IPVS_CMD_NEW_SERVICE, .service = &s, .full_service = true});
  EXPECT_EQ(r.error().code, core::Errc::kBadInput);
  s = webService();
  s.af = AF_INET6;  // but the address is IPv4
  r = encodeIpvsRequest(buf.bytes,
                        {.family_id = kFamilyId, .cmd = IPVS_CMD_DEL_SERVICE, .service = &s});
  EXPECT_EQ(r.error().code, core::Errc::kBadInput);
  std::array<char, 16> tiny{};
  r = encodeIpvsRequest(tiny, {.family_id = kFamilyId, .cmd = IPVS_CMD_GET_INFO});
  EXPECT_EQ(r.error().code, core::Errc::kBadInput);
}

TEST(IpvsNetlinkTest, FamilyAndInfo) {
  Buffer buf;
  nlmsghdr* req = encodeGetFamily(buf.bytes, 3);
  EXPECT_EQ(req->nlmsg_type, GENL_ID_CTRL);
  const nlattr* name = topAttrs(req)[CTRL_ATTR_FAMILY_NAME];
  ASSERT_NE(name, nullptr);
  const bool named = std::strcmp(mnl_attr_get_str(name), "IPVS") == 0;
  EXPECT_TRUE(named);

  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.bytes.data());
  mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr));
  mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 33);
  auto id = decodeFamilyId(nlh);
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, 33);

  nlh = mnl_nlmsg_put_header(buf.bytes.data());
  mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr));
  mnl_attr_put_u32(nlh, IPVS_INFO_ATTR_VERSION, (1U << 16) | (2U << 8) | 1U);
  mnl_attr_put_u32(nlh, IPVS_INFO_ATTR_CONN_TAB_SIZE, 4096);
  auto info = decodeIpvsInfo(nlh);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->versionString(), "1.2.1");
  EXPECT_EQ(info->conn_table_size, 4096U);
}

}  // namespace
}  // namespace ballast::kernel
