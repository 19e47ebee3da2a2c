// src/acme/hello_extensions.h — the two ClientHello extensions tls-alpn-01 looks at, read from
// their raw bytes (as SSL_client_hello_get0_ext hands them over): the ALPN protocol list and
// the server_name. Hostile input: every length is checked against what is there.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ballast::acme {

// True when the ALPN extension body (RFC 7301: a 2-byte list length, then 1-byte-length
// names) is well formed and names `protocol`.
bool alpnOffers(std::span<const uint8_t> extension, std::string_view protocol);

// The host_name of a server_name extension body (RFC 6066), lower case; empty when absent or
// malformed.
std::string serverNameOf(std::span<const uint8_t> extension);

}  // namespace ballast::acme
