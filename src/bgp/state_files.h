// src/bgp/state_files.h — the BGP daemon's files under bgp.state_dir: written whole and
// renamed into place, so a daemon never reads half a file.
#pragma once

#include <string>

namespace ballast::bgp {

// Writes `text` to path.tmp and renames it over `path`. False and *error on failure.
bool writeFileAtomically(const std::string& path, const std::string& text, std::string* error);
// mkdir -p with mode 0700 for the parts it creates.
bool makeStateDirs(const std::string& dir, std::string* error);
// `dir` without trailing slashes ("/" stays "/").
std::string trimSlashes(const std::string& dir);

}  // namespace ballast::bgp
