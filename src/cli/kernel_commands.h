// src/cli/kernel_commands.h — `ballast apply` and `ballast disable` (kernel plane).
#pragma once

namespace ballast::cli {

// argv[1] is the command name. Returns the process exit code.
int kernelMain(int argc, char** argv);

}  // namespace ballast::cli
