// src/l7/http_session_internal.h — what the files of HttpSession share: the codec alias, the
// statuses the proxy answers itself, and a few fixed limits. Not for use outside them.
#pragma once

#include <cstdint>
#include <string_view>

#include "proto/http1/message.h"

namespace ballast::l7::session_internal {

namespace h1 = proto::http1;

constexpr uint32_t kMaxTries = 4;  // HttpSession::Exchange::tried
// Lingering close, as NGINX's lingering_time: how long the client's unread bytes are drained
// after our FIN before the socket is closed.
constexpr uint64_t kLingerMs = 2000;

inline std::string_view statusText(uint16_t status) {
  switch (status) {
    case 400:  // NOLINT(readability-magic-numbers): status codes name themselves
      return "Bad Request";
    case 404:  // NOLINT(readability-magic-numbers)
      return "Not Found";
    case 408:  // NOLINT(readability-magic-numbers)
      return "Request Timeout";
    case 413:  // NOLINT(readability-magic-numbers)
      return "Content Too Large";
    case 414:  // NOLINT(readability-magic-numbers)
      return "URI Too Long";
    case 431:  // NOLINT(readability-magic-numbers)
      return "Request Header Fields Too Large";
    case 501:  // NOLINT(readability-magic-numbers)
      return "Not Implemented";
    case 502:  // NOLINT(readability-magic-numbers)
      return "Bad Gateway";
    case 503:  // NOLINT(readability-magic-numbers)
      return "Service Unavailable";
    case 504:  // NOLINT(readability-magic-numbers)
      return "Gateway Timeout";
    case 505:  // NOLINT(readability-magic-numbers)
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

constexpr uint16_t kNotFound = 404;
constexpr uint16_t kRequestTimeout = 408;
constexpr uint16_t kBadGateway = 502;
constexpr uint16_t kUnavailable = 503;
constexpr uint16_t kGatewayTimeout = 504;
constexpr uint16_t kSwitching = 101;
constexpr uint16_t kFirstFinal = 200;

}  // namespace ballast::l7::session_internal
