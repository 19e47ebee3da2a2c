// src/uplink/sysctl.h — reads and writes /proc/sys values by their dotted names.
#pragma once

#include <optional>
#include <string>

namespace ballast::uplink {

// "net.ipv4.fib_multipath_hash_policy" → its value without the trailing newline; nullopt when
// the key does not exist (IPv6 disabled, old kernel) or cannot be read.
std::optional<std::string> readSysctl(const std::string& name);
bool writeSysctl(const std::string& name, const std::string& value);

}  // namespace ballast::uplink
