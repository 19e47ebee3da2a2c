// src/uplink/rtnl.h — rtnetlink messages the uplink plane sends and parses: dumps of links,
// addresses, routes, rules and neighbours, and adds/deletes of default routes and rules.
#pragma once

#include <string>

#include "uplink/netlink.h"
#include "uplink/routing_types.h"

namespace ballast::uplink {

// Fills `view` from five dumps. 0 or -errno.
int readHostView(NetlinkSocket& sock, HostView* view);

// Creates or replaces the default route of route.table. 0 or -errno.
int replaceDefaultRoute(NetlinkSocket& sock, const RouteSpec& route);
int addRule(NetlinkSocket& sock, const RuleSpec& rule);
// Deletes the object a dump returned, by sending its message back as RTM_DELROUTE/RTM_DELRULE.
int deleteRoute(NetlinkSocket& sock, const KernelRoute& route);
int deleteRule(NetlinkSocket& sock, const KernelRule& rule);

// The request messages, built in `buf` (MNL_SOCKET_BUFFER_SIZE bytes); exposed for tests.
nlmsghdr* buildRouteMessage(char* buf, const RouteSpec& route);
nlmsghdr* buildRuleMessage(char* buf, const RuleSpec& rule);

// Parsers, exposed for the event socket and tests. False when the message is not IPv4 or not
// of that kind.
bool parseLink(const nlmsghdr* nlh, LinkInfo* out);
bool parseAddr(const nlmsghdr* nlh, AddrInfo* out);
bool parseRoute(const nlmsghdr* nlh, KernelRoute* out);
bool parseRule(const nlmsghdr* nlh, KernelRule* out);
bool parseNeigh(const nlmsghdr* nlh, NeighInfo* out);

}  // namespace ballast::uplink
