// src/tls/handshake_failure.h — why a client's TLS failed, in a few words an operator can act
// on: the label of ballast_listener_tls_failures_total and the `kind` of l7.tls_failed lines.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ballast::tls {

enum class Failure : uint8_t {
  kNotTls,             // plain HTTP or other bytes on a TLS port
  kProtocolVersion,    // below min_version, or no version in common
  kNoSharedCipher,     // no cipher suite or group in common
  kNoAlpn,             // the client offered no protocol we speak
  kClientCertificate,  // mTLS: none sent (require), or it did not verify
  kPeerAlert,          // the client gave up (it rejected our certificate, most often)
  kBadRecord,          // after the handshake: a record that does not decrypt or parse
  kOutOfBuffers,       // our chunk pool ran dry
  kOther,
};
inline constexpr size_t kFailureKinds = static_cast<size_t>(Failure::kOther) + 1;

inline constexpr std::array<std::string_view, kFailureKinds> kFailureNames = {
    "not_tls",    "protocol_version", "no_shared_cipher", "no_alpn", "client_certificate",
    "peer_alert", "bad_record",       "out_of_buffers",   "other"};

inline std::string_view failureName(Failure f) { return kFailureNames[static_cast<size_t>(f)]; }

// From OpenSSL's reason code (ERR_GET_REASON) for a failure during or after the handshake.
Failure classifyFailure(int reason_code, bool handshake_done);

}  // namespace ballast::tls
