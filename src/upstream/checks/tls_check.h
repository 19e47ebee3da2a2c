// src/upstream/checks/tls_check.h — a TLS handshake as a health check, OpenSSL driven over
// memory BIOs so the socket stays the event loop's: healthy once the handshake completes (and,
// with verify, the chain and name check out).
#pragma once

#include "upstream/checks/check_conversation.h"

namespace ballast::upstream::checks {

std::unique_ptr<CheckConversation> makeTlsConversation(const config::HealthCheck& check);

}  // namespace ballast::upstream::checks
