// src/bgp/state_files.cpp — atomic writes and the state directory.
#include "bgp/state_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace ballast::bgp {
namespace {

constexpr mode_t kStateDirMode = 0700;

}  // namespace

bool writeFileAtomically(const std::string& path, const std::string& text, std::string* error) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.good()) {
      *error = "cannot write " + tmp;
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "rename " + tmp + ": " + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
    return false;
  }
  return true;
}

bool makeStateDirs(const std::string& dir, std::string* error) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      const std::string part = dir.substr(0, i);
      if (::mkdir(part.c_str(), kStateDirMode) != 0 && errno != EEXIST) {
        *error = "mkdir " + part + ": " + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
        return false;
      }
    }
  }
  return true;
}

std::string trimSlashes(const std::string& dir) {
  std::string out = dir;
  while (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  return out;
}

}  // namespace ballast::bgp
