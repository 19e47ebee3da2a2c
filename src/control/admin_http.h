// src/control/admin_http.h — one admin API request and its response, as the handlers see them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ballast::control {

// Who is asking: a local user over the unix socket (file permissions already let them in) or a
// TCP peer (tokens and allowlist decide).
struct AdminPeer {
  bool unix_socket = false;
  uint32_t uid = 0;
  int32_t pid = 0;
  std::string address;  // TCP: the peer's IP; unix: ""

  std::string describe() const;  // "unix:uid=0,pid=42" / "tcp:198.18.0.1"
};

struct AdminRequest {
  std::string method;
  std::string path;                                          // percent-decoded, without the query
  std::string query;                                         // raw, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  AdminPeer peer;
  int connection_fd = -1;  // the admin connection (binary upgrade passes sockets down it)
  std::string actor;  // filled in by auth: "admin:unix:uid=0" or "admin:token:<sub>@198.18.0.1"

  std::string_view header(std::string_view name) const;
  std::string queryParam(std::string_view name) const;
};

struct AdminResponse {
  uint16_t status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // text/event-stream: the connection stays open and AdminServer::broadcast() feeds it.
  bool event_stream = false;

  static AdminResponse json(uint16_t status, const nlohmann::json& value);
  // {"error": {"code": …, "message": …}}
  static AdminResponse error(uint16_t status, std::string_view code, std::string_view message);
  static AdminResponse text(uint16_t status, std::string body, std::string content_type);
};

// Percent-decodes a path; false on malformed escapes or a decoded NUL.
bool percentDecode(std::string_view in, std::string& out);

}  // namespace ballast::control
