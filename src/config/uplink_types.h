// src/config/uplink_types.h — settings of the uplink plane: outbound traffic spread over several
// uplinks. Filled in by the uplink-plane work (issue #7).
#pragma once

#include <string>
#include <vector>

namespace ballast::config {

struct UplinkPolicy {
  bool present = false;  // an `uplink_policy:` section was given
};

struct Uplink {
  std::string interface;
};

}  // namespace ballast::config
