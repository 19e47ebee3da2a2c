// src/config/uplink_sections.cpp — `uplinks:`, `uplink_policy:` and `lan_interfaces:` (issue #7;
// placeholder that accepts the keys until the uplink plane lands).
#include "config/plane_sections.h"

namespace ballast::config {

void readUplinkSections(FileReader& /*file*/, const MapReader& /*top*/, Config& /*config*/) {}

}  // namespace ballast::config
