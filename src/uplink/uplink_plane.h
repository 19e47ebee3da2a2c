// src/uplink/uplink_plane.h — the uplink plane's entry point for `ballast run` and
// `ballast uplinks apply`.
#pragma once

#include <memory>
#include <string>

#include "control/plane.h"

namespace ballast::uplink {

std::unique_ptr<control::Plane> makeUplinkPlane(const control::PlaneContext& ctx);
// The same plane with another actor name in its audit records ("cli:uplinks").
std::unique_ptr<control::Plane> makeUplinkPlane(const control::PlaneContext& ctx,
                                                std::string actor);

}  // namespace ballast::uplink
