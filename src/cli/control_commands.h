// src/cli/control_commands.h — commands that talk to a running daemon over its admin socket:
// status, show, backend, reload, drain; plus doctor and the interactive shell.
#pragma once

#include <string>
#include <vector>

namespace ballast::cli {

// Exit codes of these commands.
inline constexpr int kExitDaemonRefused = 1;  // the daemon answered 4xx/5xx, or doctor found errors
inline constexpr int kExitUnreachable = 3;    // no daemon on the admin socket

// argv[1] is the command name. Returns the process exit code.
int controlMain(int argc, char** argv);

// Runs one command given as words (`show pools`, `backend drain app 10.0.0.1:80`) against the
// daemon; shared by the command line and the shell. Output goes to stdout/stderr.
int runControlWords(const std::vector<std::string>& words, const std::string& socket, bool json);

bool isControlCommand(const std::string& name);

}  // namespace ballast::cli
