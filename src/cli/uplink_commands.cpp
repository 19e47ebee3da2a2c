// src/cli/uplink_commands.cpp — placeholder until the uplink plane (issue #7) lands.
#include "cli/uplink_commands.h"

#include <cstdio>

namespace ballast::cli {

int uplinksMain(int /*argc*/, char** /*argv*/) {
  std::fprintf(stderr, "ballast uplinks: the uplink plane is not built yet\n");
  return 2;
}

}  // namespace ballast::cli
