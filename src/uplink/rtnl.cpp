// src/uplink/rtnl.cpp — building and parsing rtnetlink messages with libmnl.
#include "uplink/rtnl.h"

#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

#include "net/netlink_check.h"

namespace ballast::uplink {
namespace {

// Tables above 255 do not fit rtm_table; RT_TABLE_UNSPEC there and RTA_TABLE says which.
constexpr uint32_t kMaxByteTable = 255;
constexpr uint32_t kNoMask = 0xffffffffU;
constexpr uint8_t kHostPrefix = 32;

uint8_t byteTable(uint32_t table) {
  return table <= kMaxByteTable ? static_cast<uint8_t>(table)
                                : static_cast<uint8_t>(RT_TABLE_UNSPEC);
}

std::vector<char> copyMessage(const nlmsghdr* nlh) {
  const auto* p = reinterpret_cast<const char*>(nlh);
  return {p, p + nlh->nlmsg_len};
}

template <typename Fn>
void forEachAttr(const nlmsghdr* nlh, size_t header_len, Fn fn) {
  // mnl_attr_for_each, spelled out: the C macro assigns void* without a cast.
  const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (const auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, header_len));
       mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char*>(a)));
       a = mnl_attr_next(a)) {
    fn(a);
  }
}

uint32_t attrU32(const nlattr* a) {
  return mnl_attr_get_payload_len(a) >= sizeof(uint32_t) ? mnl_attr_get_u32(a) : 0;
}

std::string attrStr(const nlattr* a) {
  const auto* p = static_cast<const char*>(mnl_attr_get_payload(a));
  return {p, strnlen(p, mnl_attr_get_payload_len(a))};
}

}  // namespace

bool parseLink(const nlmsghdr* nlh, LinkInfo* out) {
  if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) {
    return false;
  }
  if (!net::netlinkHasHeader(nlh, sizeof(ifinfomsg))) {
    return false;  // too short for its family header
  }
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  out->index = ifi->ifi_index;
  out->up = nlh->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) != 0 &&
            (ifi->ifi_flags & IFF_LOWER_UP) != 0;
  forEachAttr(nlh, sizeof(*ifi), [&](const nlattr* a) {
    if (mnl_attr_get_type(a) == IFLA_IFNAME) {
      out->name = attrStr(a);
    }
  });
  return true;
}

bool parseAddr(const nlmsghdr* nlh, AddrInfo* out) {
  if (nlh->nlmsg_type != RTM_NEWADDR) {
    return false;
  }
  if (!net::netlinkHasHeader(nlh, sizeof(ifaddrmsg))) {
    return false;  // too short for its family header
  }
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (ifa->ifa_family != AF_INET || (ifa->ifa_flags & IFA_F_SECONDARY) != 0) {
    return false;
  }
  out->index = static_cast<int>(ifa->ifa_index);
  out->prefix_len = ifa->ifa_prefixlen;
  out->addr = 0;
  forEachAttr(nlh, sizeof(*ifa), [&](const nlattr* a) {
    // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer's on point-to-point links.
    if (mnl_attr_get_type(a) == IFA_LOCAL ||
        (mnl_attr_get_type(a) == IFA_ADDRESS && out->addr == 0)) {
      out->addr = attrU32(a);
    }
  });
  return out->addr != 0;
}

bool parseRoute(const nlmsghdr* nlh, KernelRoute* out) {
  if (nlh->nlmsg_type != RTM_NEWROUTE) {
    return false;
  }
  if (!net::netlinkHasHeader(nlh, sizeof(rtmsg))) {
    return false;  // too short for its family header
  }
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  if (rtm->rtm_family != AF_INET) {
    return false;
  }
  out->table = rtm->rtm_table;
  out->dst_len = rtm->rtm_dst_len;
  out->protocol = rtm->rtm_protocol;
  forEachAttr(nlh, sizeof(*rtm), [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case RTA_TABLE:
        out->table = attrU32(a);
        break;
      case RTA_OIF:
        out->oif = static_cast<int>(attrU32(a));
        break;
      case RTA_GATEWAY:
        out->gateway = attrU32(a);
        break;
      case RTA_MULTIPATH: {
        const auto* p = static_cast<const char*>(mnl_attr_get_payload(a));
        size_t left = mnl_attr_get_payload_len(a);
        while (left >= sizeof(rtnexthop)) {
          const auto* nh = reinterpret_cast<const rtnexthop*>(p);
          if (nh->rtnh_len < sizeof(rtnexthop) || nh->rtnh_len > left) {
            break;
          }
          Nexthop hop;
          hop.ifindex = nh->rtnh_ifindex;
          hop.weight = static_cast<uint32_t>(nh->rtnh_hops) + 1;
          // The nexthop's own attributes follow its header.
          const char* ap = p + RTNH_ALIGN(sizeof(rtnexthop));
          size_t alen = nh->rtnh_len - RTNH_ALIGN(sizeof(rtnexthop));
          while (alen >= sizeof(nlattr)) {
            const auto* na = reinterpret_cast<const nlattr*>(ap);
            if (na->nla_len < sizeof(nlattr) || na->nla_len > alen) {
              break;
            }
            if (mnl_attr_get_type(na) == RTA_GATEWAY) {
              hop.gateway = attrU32(na);
            }
            const size_t step = MNL_ALIGN(na->nla_len);
            if (step >= alen) {
              break;
            }
            ap += step;
            alen -= step;
          }
          out->nexthops.push_back(hop);
          const size_t step = RTNH_ALIGN(nh->rtnh_len);
          if (step >= left) {
            break;
          }
          p += step;
          left -= step;
        }
        break;
      }
      default:
        break;
    }
  });
  out->raw = copyMessage(nlh);
  return true;
}

bool parseRule(const nlmsghdr* nlh, KernelRule* out) {
  if (nlh->nlmsg_type != RTM_NEWRULE) {
    return false;
  }
  if (!net::netlinkHasHeader(nlh, sizeof(fib_rule_hdr))) {
    return false;  // too short for its family header
  }
  const auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(nlh));
  if (frh->family != AF_INET) {
    return false;
  }
  RuleSpec& s = out->spec;
  s.table = frh->table;
  forEachAttr(nlh, sizeof(*frh), [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case FRA_PRIORITY:
        s.priority = attrU32(a);
        break;
      case FRA_TABLE:
        s.table = attrU32(a);
        break;
      case FRA_SRC:
        s.src = attrU32(a);
        break;
      case FRA_IIFNAME:
        s.iif = attrStr(a);
        break;
      case FRA_OIFNAME:
        s.oif = attrStr(a);
        break;
      case FRA_FWMARK:
        s.fwmark = attrU32(a);
        break;
      case FRA_FWMASK:
        s.fwmask = attrU32(a);
        break;
      case FRA_SUPPRESS_PREFIXLEN:
        s.suppress_default = attrU32(a) == 0;
        break;
      case FRA_PROTOCOL:
        if (mnl_attr_get_payload_len(a) >= sizeof(uint8_t)) {
          out->protocol = mnl_attr_get_u8(a);
        }
        break;
      default:
        break;
    }
  });
  if (s.fwmask == 0 && s.fwmark != 0) {
    s.fwmask = kNoMask;
  }
  out->raw = copyMessage(nlh);
  return true;
}

bool parseNeigh(const nlmsghdr* nlh, NeighInfo* out) {
  if (nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH) {
    return false;
  }
  if (!net::netlinkHasHeader(nlh, sizeof(ndmsg))) {
    return false;  // too short for its family header
  }
  const auto* nd = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
  if (nd->ndm_family != AF_INET) {
    return false;
  }
  out->index = nd->ndm_ifindex;
  out->state = nlh->nlmsg_type == RTM_DELNEIGH ? NUD_NONE : nd->ndm_state;
  out->addr = 0;
  forEachAttr(nlh, sizeof(*nd), [&](const nlattr* a) {
    if (mnl_attr_get_type(a) == NDA_DST) {
      out->addr = attrU32(a);
    }
  });
  return out->addr != 0;
}

int readHostView(NetlinkSocket& sock, HostView* view) {
  *view = HostView{};
  char buf[MNL_SOCKET_BUFFER_SIZE];
  int rc = 0;
  {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETLINK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    rc = sock.dump(nlh, [&](const nlmsghdr* m) {
      LinkInfo l;
      if (parseLink(m, &l)) {
        view->links.push_back(std::move(l));
      }
    });
    if (rc != 0) {
      return rc;
    }
  }
  {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETADDR;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    rc = sock.dump(nlh, [&](const nlmsghdr* m) {
      AddrInfo a;
      if (parseAddr(m, &a)) {
        view->addrs.push_back(a);
      }
    });
    if (rc != 0) {
      return rc;
    }
  }
  {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETROUTE;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = AF_INET;
    rc = sock.dump(nlh, [&](const nlmsghdr* m) {
      KernelRoute r;
      if (parseRoute(m, &r)) {
        view->routes.push_back(std::move(r));
      }
    });
    if (rc != 0) {
      return rc;
    }
  }
  {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETRULE;
    auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
    frh->family = AF_INET;
    rc = sock.dump(nlh, [&](const nlmsghdr* m) {
      KernelRule r;
      if (parseRule(m, &r)) {
        view->rules.push_back(std::move(r));
      }
    });
    if (rc != 0) {
      return rc;
    }
  }
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETNEIGH;
  auto* nd = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
  nd->ndm_family = AF_INET;
  return sock.dump(nlh, [&](const nlmsghdr* m) {
    NeighInfo n;
    if (parseNeigh(m, &n)) {
      view->neighbours.push_back(n);
    }
  });
}

nlmsghdr* buildRouteMessage(char* buf, const RouteSpec& route) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWROUTE;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = 0;
  rtm->rtm_table = byteTable(route.table);
  rtm->rtm_protocol = kRtProtBallast;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(nlh, RTA_TABLE, route.table);
  if (route.nexthops.size() == 1) {
    const Nexthop& nh = route.nexthops.front();
    // onlink: the gateway is on the interface's link whatever the table holds, so the route
    // needs no connected route in this table.
    rtm->rtm_flags |= RTNH_F_ONLINK;
    mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(nh.ifindex));
    mnl_attr_put_u32(nlh, RTA_GATEWAY, nh.gateway);
  } else {
    nlattr* mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
    for (const auto& nh : route.nexthops) {
      auto* hop =
          static_cast<rtnexthop*>(mnl_nlmsg_put_extra_header(nlh, RTNH_ALIGN(sizeof(rtnexthop))));
      hop->rtnh_flags = RTNH_F_ONLINK;
      hop->rtnh_hops = static_cast<uint8_t>(nh.weight - 1);
      hop->rtnh_ifindex = nh.ifindex;
      mnl_attr_put_u32(nlh, RTA_GATEWAY, nh.gateway);
      hop->rtnh_len = static_cast<uint16_t>(
          reinterpret_cast<char*>(mnl_nlmsg_get_payload_tail(nlh)) - reinterpret_cast<char*>(hop));
    }
    mnl_attr_nest_end(nlh, mp);
  }
  return nlh;
}

int replaceDefaultRoute(NetlinkSocket& sock, const RouteSpec& route) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  return sock.request(buildRouteMessage(buf, route));
}

nlmsghdr* buildRuleMessage(char* buf, const RuleSpec& rule) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWRULE;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
  frh->family = AF_INET;
  frh->action = FR_ACT_TO_TBL;
  frh->table = byteTable(rule.table);
  mnl_attr_put_u32(nlh, FRA_PRIORITY, rule.priority);
  mnl_attr_put_u32(nlh, FRA_TABLE, rule.table);
  mnl_attr_put_u8(nlh, FRA_PROTOCOL, kRtProtBallast);
  if (rule.src != 0) {
    frh->src_len = kHostPrefix;
    mnl_attr_put_u32(nlh, FRA_SRC, rule.src);
  }
  if (!rule.iif.empty()) {
    mnl_attr_put_strz(nlh, FRA_IIFNAME, rule.iif.c_str());
  }
  if (!rule.oif.empty()) {
    mnl_attr_put_strz(nlh, FRA_OIFNAME, rule.oif.c_str());
  }
  if (rule.fwmask != 0) {
    mnl_attr_put_u32(nlh, FRA_FWMARK, rule.fwmark);
    mnl_attr_put_u32(nlh, FRA_FWMASK, rule.fwmask);
  }
  if (rule.suppress_default) {
    mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, 0);
  }
  return nlh;
}

int addRule(NetlinkSocket& sock, const RuleSpec& rule) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  return sock.request(buildRuleMessage(buf, rule));
}

namespace {
int sendBack(NetlinkSocket& sock, const std::vector<char>& raw, uint16_t type) {
  std::vector<char> msg = raw;
  auto* nlh = reinterpret_cast<nlmsghdr*>(msg.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = 0;
  return sock.request(nlh);
}
}  // namespace

int deleteRoute(NetlinkSocket& sock, const KernelRoute& route) {
  return sendBack(sock, route.raw, RTM_DELROUTE);
}

int deleteRule(NetlinkSocket& sock, const KernelRule& rule) {
  return sendBack(sock, rule.raw, RTM_DELRULE);
}

}  // namespace ballast::uplink
