// src/uplink/uplink_plane.cpp — placeholder until the uplink plane (issue #7) lands.
#include "uplink/uplink_plane.h"

namespace ballast::uplink {

std::unique_ptr<server::Plane> makeUplinkPlane(const server::PlaneContext& /*ctx*/) {
  return nullptr;
}

}  // namespace ballast::uplink
