// src/uplink/state_file.h — what `remove` needs to put the host back: the sysctl values found
// before the first apply, and a record of what was added. The file is written before the host
// is touched and kept across restarts, so the values saved are always the host's own.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "uplink/netlink.h"

namespace ballast::uplink {

// Sysctls the plane sets to 1 (layer-4 multipath hashing, so flows to one destination spread).
inline constexpr const char* kHashPolicySysctls[] = {"net.ipv4.fib_multipath_hash_policy",
                                                     "net.ipv6.fib_multipath_hash_policy"};

// Saves the current sysctl values unless the state file already exists (a previous apply's
// values are the original ones), then sets them. False with *error when the file cannot be
// written; the host is then left untouched.
bool takeOverHost(const std::string& state_path, std::string* error);
// Records the applied routes and rules in the state file (informational: `remove` finds the
// objects by their protocol stamp).
void recordApplied(const std::string& state_path, const nlohmann::json& applied);
// Deletes every owned rule and route and the nftables table, restores the saved sysctls and
// deletes the state file. Returns a summary of what was undone; *error collects failures.
nlohmann::json restoreHost(NetlinkSocket& sock, const std::string& state_path, std::string* error);
// The state file's content, or null when there is none.
nlohmann::json readState(const std::string& state_path);

}  // namespace ballast::uplink
