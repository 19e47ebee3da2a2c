// src/bgp/gate.h — which VIPs this node announces: the pure decision behind the BGP plane,
// so unit tests pin it without sockets. The control thread gathers the inputs.
#pragma once

#include <span>
#include <vector>

#include "config/bgp_types.h"
#include "net/address.h"

namespace ballast::bgp {

struct ListenerView {
  net::SocketAddress bind;
  bool serves = false;  // some pool it sends to has a backend up and not drained
};

// Per bgp.vips entry: announce when the node is ready (serving, not drained, not stopping) and
// a listener bound inside the VIP (or on a wildcard address) serves — or merely exists, with
// announce_when: always.
std::vector<bool> announceGate(const config::BgpSettings& bgp, bool ready,
                               std::span<const ListenerView> listeners);

}  // namespace ballast::bgp
