// src/cli/commands.h — the `ballast` command line: subcommands, their options and help.
#pragma once

namespace ballast::cli {

// Exit codes: 0 success; 1 invalid config or failure to run; 2 usage error or unreadable file.
int main(int argc, char** argv);

}  // namespace ballast::cli
