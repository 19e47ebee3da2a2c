// src/bgp/bgp_plane.h — announcement of this node's VIPs over BGP (issue #20). Ballast decides
// which VIPs to announce; a child daemon speaks BGP (BIRD 2 or FRR's bgpd, see
// daemon_driver.h). The control thread computes the gate (the node serves and is not drained,
// and, with announce_when: healthy, a listener on the VIP has a healthy backend) and hands it
// here; the plane rewrites the daemon's managed files and tells it. Runs on the control
// thread, like the other planes.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "control/plane.h"

namespace ballast::bgp {

class BgpPlane : public control::Plane {
 public:
  // The announce decision for each VIP of the config last applied (bgp.vips order). Control
  // thread only; cheap when nothing changed, one control-socket round trip (bounded) when
  // something did. Also restarts a daemon child that died.
  virtual void setWanted(const std::vector<bool>& wanted, std::string_view why) = 0;
  // The settings last applied: after a refused reload they are the old ones, and the gate must
  // be computed over their VIPs, not the new file's.
  virtual const config::BgpSettings& settings() const = 0;
};

std::unique_ptr<BgpPlane> makeBgpPlane(const control::PlaneContext& ctx);

}  // namespace ballast::bgp
