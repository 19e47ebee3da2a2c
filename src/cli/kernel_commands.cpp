// src/cli/kernel_commands.cpp — placeholder until the kernel plane (issue #8) lands.
#include "cli/kernel_commands.h"

#include <cstdio>

namespace ballast::cli {

int kernelMain(int /*argc*/, char** argv) {
  std::fprintf(stderr, "ballast %s: the kernel plane is not built yet\n", argv[1]);
  return 2;
}

}  // namespace ballast::cli
