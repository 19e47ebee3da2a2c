// src/cli/admin_client.cpp — connect, send, read until the response ends.
#include "cli/admin_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/fd.h"
#include "proto/http1/response_parser.h"

namespace ballast::cli {
namespace {

constexpr int kTimeoutMs = 30000;  // a reload of a large config may take a while
constexpr size_t kMaxReplyBytes = size_t{64} << 20;

}  // namespace

std::string adminSocketPath(const std::optional<std::string>& flag) {
  if (flag) {
    return *flag;
  }
  if (const char* env = std::getenv("BALLAST_ADMIN_SOCKET"); env != nullptr && *env != '\0') {
    return env;
  }
  return kDefaultAdminSocket;
}

std::string encodeSegment(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4U];
      out += kHex[u & 0xFU];  // NOLINT(readability-magic-numbers)
    }
  }
  return out;
}

std::optional<AdminReply> adminRequest(const std::string& socket_path, const std::string& method,
                                       const std::string& target, const std::string& body,
                                       std::string* error) {
  sockaddr_un sun{};
  if (socket_path.size() >= sizeof(sun.sun_path)) {
    *error = "socket path too long: " + socket_path;
    return std::nullopt;
  }
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, socket_path.c_str(), socket_path.size() + 1);
  core::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sun), sizeof(sun)) != 0) {
    *error = "cannot connect to " + socket_path + ": " + std::strerror(errno) +
             " (is `ballast run` running? set --socket or BALLAST_ADMIN_SOCKET)";
    return std::nullopt;
  }
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: ballast\r\n";
  request += "User-Agent: ballast-cli/" BALLAST_VERSION "\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  size_t off = 0;
  while (off < request.size()) {
    const ssize_t n = ::send(fd.get(), request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      *error = std::string("send: ") + std::strerror(errno);
      return std::nullopt;
    }
    off += static_cast<size_t>(n);
  }
  proto::http1::ResponseParser parser;
  parser.setRequestMethod(method);
  AdminReply reply;
  std::vector<uint8_t> buf(size_t{64} * 1024);  // NOLINT(readability-magic-numbers)
  bool done = false;
  while (!done) {
    pollfd pfd{fd.get(), POLLIN, 0};
    if (::poll(&pfd, 1, kTimeoutMs) <= 0) {
      *error = "no answer from " + socket_path + " within 30 s";
      return std::nullopt;
    }
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      *error = std::string("recv: ") + std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) {
      done = parser.finish() == proto::http1::Event::kClosed || reply.status != 0;
      break;
    }
    std::span<const uint8_t> in(buf.data(), static_cast<size_t>(n));
    while (!done) {
      const auto p = parser.next(in);
      in = in.subspan(p.consumed);
      if (p.event == proto::http1::Event::kHead) {
        reply.status = parser.head().status;
      } else if (p.event == proto::http1::Event::kBody) {
        reply.body.append(reinterpret_cast<const char*>(p.body.data()), p.body.size());
        if (reply.body.size() > kMaxReplyBytes) {
          *error = "reply too large";
          return std::nullopt;
        }
      } else if (p.event == proto::http1::Event::kMessageEnd) {
        done = true;
      } else if (p.event == proto::http1::Event::kError) {
        *error = "malformed reply from the daemon";
        return std::nullopt;
      } else {
        break;  // kNeedMore
      }
    }
  }
  if (reply.status == 0) {
    *error = "the daemon closed the connection without answering";
    return std::nullopt;
  }
  reply.json = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (reply.json.is_discarded()) {
    reply.json = nullptr;
  }
  return reply;
}

}  // namespace ballast::cli
