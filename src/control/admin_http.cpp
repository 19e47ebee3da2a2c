// src/control/admin_http.cpp — request accessors and response builders.
#include "control/admin_http.h"

#include <algorithm>
#include <cctype>

namespace ballast::control {

std::string AdminPeer::describe() const {
  if (unix_socket) {
    return "unix:uid=" + std::to_string(uid) + ",pid=" + std::to_string(pid);
  }
  return "tcp:" + address;
}

std::string_view AdminRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) {
      return v;
    }
  }
  return {};
}

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower >= 'a' && lower <= 'f') {
    return lower - 'a' + 10;  // NOLINT(readability-magic-numbers): hex digit value
  }
  return -1;
}

}  // namespace

bool percentDecode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) {
      return false;  // a '%' needs two hex digits after it
    }
    const int hi = hexValue(in[i + 1]);
    const int lo = hexValue(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
      return false;
    }
    out += static_cast<char>(hi * 16 + lo);  // NOLINT(readability-magic-numbers)
    i += 2;
  }
  return true;
}

std::string AdminRequest::queryParam(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) {
      continue;
    }
    std::string value;
    if (eq == std::string_view::npos || !percentDecode(pair.substr(eq + 1), value)) {
      return {};
    }
    return value;
  }
  return {};
}

AdminResponse AdminResponse::json(uint16_t status, const nlohmann::json& value) {
  AdminResponse r;
  r.status = status;
  r.body = value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  r.body += '\n';
  return r;
}

AdminResponse AdminResponse::error(uint16_t status, std::string_view code,
                                   std::string_view message) {
  return json(status, {{"error", {{"code", code}, {"message", message}}}});
}

AdminResponse AdminResponse::text(uint16_t status, std::string body, std::string content_type) {
  AdminResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

}  // namespace ballast::control
