// src/cli/shell.h — `ballast shell`: an interactive, network-device-style shell (libedit) over
// the admin socket: show …, backend …, reload, with tab completion of commands, pools and
// backends, `?` for what may come next, and history.
#pragma once

#include <string>
#include <vector>

namespace ballast::cli {

int runShell(const std::string& socket);

// What may follow `words` (the complete words before the cursor), for completion and `?`:
// each candidate with a one-line description. `pools` maps pool names to backend addresses.
struct ShellCandidate {
  std::string word;
  std::string help;
};
std::vector<ShellCandidate> shellCandidates(
    const std::vector<std::string>& words,
    const std::vector<std::pair<std::string, std::vector<std::string>>>& pools);

}  // namespace ballast::cli
