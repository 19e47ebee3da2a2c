// src/cli/kernel_commands.h — `ballast apply` and `ballast disable` (kernel plane).
#pragma once

#include <string_view>

namespace ballast::cli {

// argv[1] is the command name. Returns the process exit code.
int kernelMain(int argc, char** argv);

// Prints the help page of `apply` or `disable` (for `ballast help TOPIC`); false for any other
// topic.
bool printKernelHelp(std::string_view topic);

}  // namespace ballast::cli
