// src/uplink/uplink_plane.h — the uplink plane's entry point for `ballast run`.
#pragma once

#include <memory>

#include "server/plane.h"

namespace ballast::uplink {

std::unique_ptr<server::Plane> makeUplinkPlane(const server::PlaneContext& ctx);

}  // namespace ballast::uplink
