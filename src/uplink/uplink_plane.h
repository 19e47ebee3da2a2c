// src/uplink/uplink_plane.h — the uplink plane's entry point for `ballast run` and
// `ballast uplinks apply`.
#pragma once

#include <memory>
#include <string>

#include "server/plane.h"

namespace ballast::uplink {

std::unique_ptr<server::Plane> makeUplinkPlane(const server::PlaneContext& ctx);
// The same plane with another actor name in its audit records ("cli:uplinks").
std::unique_ptr<server::Plane> makeUplinkPlane(const server::PlaneContext& ctx, std::string actor);

}  // namespace ballast::uplink
