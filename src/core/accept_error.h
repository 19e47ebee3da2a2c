// src/core/accept_error.h — which accept(2) failures make an acceptor back off, and their names:
// the `reason` label of ballast_listener_accept_errors_total and of l4.accept_paused lines.
#pragma once

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ballast::core {

enum class AcceptError : uint8_t {
  kEmfile,   // this process is out of file descriptors (RLIMIT_NOFILE)
  kEnfile,   // the system is (fs.file-max)
  kEnobufs,  // socket buffers or kernel memory ran out
  kEnomem,
  kOther,  // anything unexpected: backing off costs a little latency, a spin costs a core
};
inline constexpr size_t kAcceptErrorKinds = static_cast<size_t>(AcceptError::kOther) + 1;

inline constexpr std::array<std::string_view, kAcceptErrorKinds> kAcceptErrorNames = {
    "emfile", "enfile", "enobufs", "enomem", "other"};

// The failure belonged to one connection (the client reset it while queued, a signal, or one of
// the pending network errors accept(2) passes on, which its man page says to treat like EAGAIN):
// the next one may be accepted at once. Anything else fails again on the very next try while
// the connection stays queued, so it calls for a pause.
inline bool acceptErrorIsTransient(int err) {
  switch (err) {
    case ECONNABORTED:
    case EINTR:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      return true;
    default:
      return false;
  }
}

inline AcceptError classifyAcceptError(int err) {
  switch (err) {
    case EMFILE:
      return AcceptError::kEmfile;
    case ENFILE:
      return AcceptError::kEnfile;
    case ENOBUFS:
      return AcceptError::kEnobufs;
    case ENOMEM:
      return AcceptError::kEnomem;
    default:
      return AcceptError::kOther;
  }
}

inline std::string_view acceptErrorName(int err) {
  return kAcceptErrorNames[static_cast<size_t>(classifyAcceptError(err))];
}

// The errno's description for a log line; unlike strerror, safe on any worker thread.
inline std::string_view acceptErrorText(int err) {
  const char* text = strerrordesc_np(err);
  return text != nullptr ? text : "unknown error";
}

}  // namespace ballast::core
