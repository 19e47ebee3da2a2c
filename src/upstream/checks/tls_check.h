// src/upstream/checks/tls_check.h — a TLS handshake as a health check, OpenSSL driven over
// memory BIOs so the socket stays the event loop's: healthy once the handshake completes (and,
// with verify, the chain and name check out).
#pragma once

#include "upstream/checks/check_conversation.h"

namespace ballast::upstream::checks {

std::unique_ptr<CheckConversation> makeTlsConversation(const config::HealthCheck& check);

// `inner` (an HTTP check) spoken over TLS: the handshake first (it must pass `check`'s
// verification), then inner's bytes encrypted and its verdict as the check's.
std::unique_ptr<CheckConversation> makeTlsWrapped(const config::HealthCheck& check,
                                                  std::unique_ptr<CheckConversation> inner);

}  // namespace ballast::upstream::checks
