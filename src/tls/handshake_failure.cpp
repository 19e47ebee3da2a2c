// src/tls/handshake_failure.cpp — OpenSSL reason codes grouped into what an operator can act on.
#include "tls/handshake_failure.h"

#include <openssl/ssl.h>

namespace ballast::tls {

Failure classifyFailure(int reason_code, bool handshake_done) {
  switch (reason_code) {
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
      return handshake_done ? Failure::kBadRecord : Failure::kNotTls;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      return Failure::kProtocolVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      return Failure::kNoSharedCipher;
    case SSL_R_NO_APPLICATION_PROTOCOL:
      return Failure::kNoAlpn;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      return Failure::kClientCertificate;
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
    case SSL_R_TLSV1_ALERT_INTERNAL_ERROR:
      return Failure::kPeerAlert;
    default:
      return handshake_done ? Failure::kBadRecord : Failure::kOther;
  }
}

}  // namespace ballast::tls
