// src/cli/admin_client.h — the CLI's side of the admin API: one blocking HTTP/1.1 request over
// the daemon's unix socket, answered in full. Responses are parsed with our own codec.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace ballast::cli {

inline constexpr const char* kDefaultAdminSocket = "/run/ballast/admin.sock";

struct AdminReply {
  uint16_t status = 0;
  std::string body;
  nlohmann::json json;  // parsed body when it is JSON, else null
};

// The socket: --socket, else $BALLAST_ADMIN_SOCKET, else the default.
std::string adminSocketPath(const std::optional<std::string>& flag);

// nullopt and *error ("cannot connect to /run/ballast/admin.sock: No such file…") when the
// daemon cannot be reached or answers garbage.
std::optional<AdminReply> adminRequest(const std::string& socket_path, const std::string& method,
                                       const std::string& target, const std::string& body,
                                       std::string* error);

// Percent-encodes one path segment (backend addresses hold ':' and IPv6 brackets).
std::string encodeSegment(const std::string& s);

}  // namespace ballast::cli
