// tests/fuzz/rtnl_fuzz.cpp — libFuzzer target for the uplink plane's rtnetlink parsers
// (uplink/rtnl.h: links, addresses, routes with RTA_MULTIPATH, rules, neighbours). The input is a
// receive buffer, walked with mnl_cb_run as NetlinkSocket::dump and ::drain walk one; every data
// message goes through every parser, and what they return is read back through HostView the way
// the plan does. Beyond "no crash": `raw` is the message, weights are 1..256, and a route or rule
// the plane could have written (at most kMaxUplinks nexthops, interface names that fit IFNAMSIZ)
// is rebuilt with buildRouteMessage/buildRuleMessage and parses back to the same.
//
// The buffer is the input copied into an allocation of its own, rounded up to NLMSG_ALIGNTO as a
// real receive buffer always is: libmnl bounds attributes by MNL_ALIGN(nlmsg_len), which the
// kernel never leaves unaligned. Any read beyond that is a parser trusting a length.
//
// Not covered: kernel/vip_watch.cpp's address parser (messageCallback) is file-local.
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "net/netlink_check.h"
#include "uplink/rtnl.h"

namespace {

namespace uplink = ballast::uplink;

// The plane writes one nexthop per uplink; config caps uplinks at 64 (config/uplink_sections.cpp).
constexpr size_t kMaxUplinks = 64;
constexpr uint32_t kMaxWeight = 256;

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

size_t touch(const std::string& s) {
  size_t sum = 0;
  for (const char c : s) {
    sum += static_cast<unsigned char>(c);
  }
  return sum;
}

std::vector<char> buildBuffer() { return std::vector<char>(MNL_SOCKET_BUFFER_SIZE); }

void roundTripRoute(const uplink::KernelRoute& r) {
  uplink::RouteSpec spec;
  spec.table = r.table;
  if (r.nexthops.empty()) {
    spec.nexthops.push_back({r.oif, r.gateway, 1});
  } else {
    spec.nexthops = r.nexthops;
  }
  if (spec.nexthops.size() > kMaxUplinks) {
    return;
  }
  auto buf = buildBuffer();
  const nlmsghdr* nlh = uplink::buildRouteMessage(buf.data(), spec);
  check(nlh->nlmsg_len <= buf.size());
  uplink::KernelRoute again;
  check(uplink::parseRoute(nlh, &again));
  check(again.table == spec.table && again.dst_len == 0 &&
        again.protocol == uplink::kRtProtBallast);
  if (spec.nexthops.size() == 1) {
    check(again.nexthops.empty() && again.oif == spec.nexthops[0].ifindex &&
          again.gateway == spec.nexthops[0].gateway);
  } else {
    check(again.nexthops == spec.nexthops);
  }
}

void roundTripRule(const uplink::KernelRule& r) {
  if (r.spec.iif.size() >= IFNAMSIZ || r.spec.oif.size() >= IFNAMSIZ) {
    return;
  }
  auto buf = buildBuffer();
  const nlmsghdr* nlh = uplink::buildRuleMessage(buf.data(), r.spec);
  check(nlh->nlmsg_len <= buf.size());
  uplink::KernelRule again;
  check(uplink::parseRule(nlh, &again));
  check(again.protocol == uplink::kRtProtBallast);
  // buildRuleMessage writes src as a /32 only when set, and a mark only with its mask.
  uplink::RuleSpec want = r.spec;
  if (want.fwmask == 0) {
    want.fwmark = 0;
  }
  check(again.spec == want);
}

int onMessage(const nlmsghdr* nlh, void* data) {
  auto* view = static_cast<uplink::HostView*>(data);
  uplink::LinkInfo link;
  if (uplink::parseLink(nlh, &link)) {
    (void)touch(link.name);
    view->links.push_back(std::move(link));
  }
  uplink::AddrInfo addr;
  if (uplink::parseAddr(nlh, &addr)) {
    check(addr.addr != 0);
    view->addrs.push_back(addr);
  }
  uplink::KernelRoute route;
  if (uplink::parseRoute(nlh, &route)) {
    check(route.raw.size() == nlh->nlmsg_len);
    check(std::memcmp(route.raw.data(), nlh, route.raw.size()) == 0);
    for (const auto& hop : route.nexthops) {
      check(hop.weight >= 1 && hop.weight <= kMaxWeight);
    }
    roundTripRoute(route);
    view->routes.push_back(std::move(route));
  }
  uplink::KernelRule rule;
  if (uplink::parseRule(nlh, &rule)) {
    check(rule.raw.size() == nlh->nlmsg_len);
    check(rule.spec.fwmark == 0 || rule.spec.fwmask != 0);
    (void)touch(rule.spec.iif);
    (void)touch(rule.spec.oif);
    roundTripRule(rule);
    view->rules.push_back(std::move(rule));
  }
  uplink::NeighInfo neigh;
  if (uplink::parseNeigh(nlh, &neigh)) {
    check(neigh.addr != 0);
    view->neighbours.push_back(neigh);
  }
  return MNL_CB_OK;
}

// What the plan asks of a view, for every interface and address the dump named.
void queryView(const uplink::HostView& view) {
  for (const auto& l : view.links) {
    const uplink::LinkInfo* found = view.link(l.name);
    check(found != nullptr && found->name == l.name);
    (void)view.primaryAddress(l.index);
    (void)view.learnedGateway(l.index);
  }
  for (const auto& n : view.neighbours) {
    check(view.neighbour(n.index, n.addr) != nullptr);
  }
  for (const auto& a : view.addrs) {
    (void)touch(uplink::ipv4String(a.addr));
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer looks for
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<char> buf(MNL_ALIGN(size));
  if (size != 0) {
    std::memcpy(buf.data(), data, size);
  }
  uplink::HostView view;
  // Seq and port 0 accept any, as on the event socket; an error or done message ends the walk.
  // NetlinkSocket checks a buffer before libmnl walks it (net/netlink_check.h); so does this.
  if (!ballast::net::netlinkBufferValid(buf.data(), size)) {
    return 0;
  }
  (void)mnl_cb_run(buf.data(), size, 0, 0, onMessage, &view);
  queryView(view);
  return 0;
}
