// src/cli/uplink_commands.h — `ballast uplinks apply|status|remove` (uplink plane).
#pragma once

namespace ballast::cli {

// argv[1] is "uplinks". Returns the process exit code.
int uplinksMain(int argc, char** argv);

}  // namespace ballast::cli
