// src/uplink/sysctl.cpp — /proc/sys access.
#include "uplink/sysctl.h"

#include <fstream>

namespace ballast::uplink {
namespace {

std::string path(const std::string& name) {
  std::string p = "/proc/sys/" + name;
  for (size_t i = sizeof("/proc/sys/") - 1; i < p.size(); ++i) {
    if (p[i] == '.') {
      p[i] = '/';
    }
  }
  return p;
}

}  // namespace

std::optional<std::string> readSysctl(const std::string& name) {
  std::ifstream in(path(name));
  std::string value;
  if (!in || !std::getline(in, value)) {
    return std::nullopt;
  }
  return value;
}

bool writeSysctl(const std::string& name, const std::string& value) {
  std::ofstream out(path(name));
  out << value << "\n";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace ballast::uplink
