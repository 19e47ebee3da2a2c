// src/bgp/gate.cpp — the announce decision per VIP.
#include "bgp/gate.h"

namespace ballast::bgp {
namespace {

bool wildcard(const net::SocketAddress& a) {
  const auto h = a.hostString();
  return h == "0.0.0.0" || h == "::";
}

}  // namespace

std::vector<bool> announceGate(const config::BgpSettings& bgp, bool ready,
                               std::span<const ListenerView> listeners) {
  std::vector<bool> wanted(bgp.vips.size(), false);
  if (!ready) {
    return wanted;
  }
  const bool always = bgp.announce_when == config::BgpAnnounceWhen::kAlways;
  for (size_t i = 0; i < bgp.vips.size(); ++i) {
    for (const auto& l : listeners) {
      if ((wildcard(l.bind) || bgp.vips[i].contains(l.bind)) && (always || l.serves)) {
        wanted[i] = true;
        break;
      }
    }
  }
  return wanted;
}

}  // namespace ballast::bgp
