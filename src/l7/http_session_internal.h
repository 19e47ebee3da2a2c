// src/l7/http_session_internal.h — what the files of HttpSession share: the codec alias, the
// statuses the proxy answers itself, and a few fixed limits. Not for use outside them.
#pragma once

#include <cstdint>
#include <string_view>

#include "proto/http1/message.h"

namespace ballast::l7::session_internal {

namespace h1 = proto::http1;

// Lingering close, as NGINX's lingering_time: how long the client's unread bytes are drained
// after our FIN before the socket is closed.
constexpr uint64_t kLingerMs = 2000;
// A graceful stop (drain, binary upgrade) gives an idle keep-alive connection this long to send
// one more request, answered with `Connection: close`, before closing it: closing at once races
// a request already on its way, which the client sees as a failure (HAProxy's
// idle-close-on-response).
constexpr uint64_t kDrainIdleGraceMs = 1000;

constexpr uint16_t kNoContent = 204;
constexpr uint16_t kNotModified = 304;
constexpr uint16_t kNotFound = 404;
constexpr uint16_t kRequestTimeout = 408;
constexpr uint16_t kBadGateway = 502;
constexpr uint16_t kUnavailable = 503;
constexpr uint16_t kGatewayTimeout = 504;
constexpr uint16_t kSwitching = 101;
constexpr uint16_t kFirstFinal = 200;

// Reason phrase for a status the proxy answers itself: the codec's for the statuses its parsers
// produce, ours for the ones only the proxy decides.
inline std::string_view statusText(uint16_t status) {
  switch (status) {
    case kFirstFinal:
      return "OK";
    case kNoContent:
      return "No Content";
    case 303:
      return "See Other";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 405:
      return "Method Not Allowed";
    case 410:
      return "Gone";
    case 500:
      return "Internal Server Error";
    case kNotFound:
      return "Not Found";
    case kRequestTimeout:
      return "Request Timeout";
    case kUnavailable:
      return "Service Unavailable";
    case kGatewayTimeout:
      return "Gateway Timeout";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 429:
      return "Too Many Requests";
    default: {
      const std::string_view codec = h1::reasonPhrase(static_cast<h1::Status>(status));
      return codec.empty() ? "Error" : codec;
    }
  }
}

}  // namespace ballast::l7::session_internal
