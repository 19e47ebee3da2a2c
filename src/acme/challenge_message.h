// src/acme/challenge_message.h — the challenge answers a node ordering a certificate shares
// with the other nodes through the store's channel, so that whichever node the CA's validation
// reaches (ECMP, DNS round robin) answers it. One message per change, text with a header line:
//   http-01 <token>\n<key authorization>
//   http-01-done <token>\n
//   tls-alpn-01 <name> <certificate bytes>\n<certificate PEM><key PEM>
//   tls-alpn-01-done <name>\n
// Pure functions: the parser is fed whatever arrives on a Redis channel, so it trusts nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ballast::acme {

inline constexpr std::string_view kChallengeChannel = "ballast:acme:challenges";
// A message larger than this is not ours (an acmeIdentifier certificate and key are ~1.5 KiB).
inline constexpr size_t kMaxChallengeMessageBytes = 16 * 1024;

struct ChallengeMessage {
  enum class Kind : uint8_t { kHttp01, kHttp01Done, kTlsAlpn01, kTlsAlpn01Done };
  Kind kind = Kind::kHttp01;
  std::string name;               // http-01: the token; tls-alpn-01: the domain (lower case)
  std::string key_authorization;  // kHttp01
  std::string cert_pem;           // kTlsAlpn01
  std::string key_pem;            // kTlsAlpn01
};

std::string formatChallengeMessage(const ChallengeMessage& m);
// nullopt for anything malformed: an unknown kind, a bad token or name, a key authorization
// that is not "<token>.<thumbprint>", a certificate length past the end, or too many bytes.
std::optional<ChallengeMessage> parseChallengeMessage(std::string_view text);

}  // namespace ballast::acme
