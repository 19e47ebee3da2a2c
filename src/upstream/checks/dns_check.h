// src/upstream/checks/dns_check.h — a DNS check: one UDP query (RD set, class IN); healthy when
// the answer carries the query's id and RCODE NOERROR.
#pragma once

#include <span>
#include <string>

#include "upstream/checks/check_conversation.h"

namespace ballast::upstream::checks {

// The query, in wire format (RFC 1035 §4.1). `name` is a valid DNS name (config checks it).
std::string dnsQuery(const std::string& name, uint16_t type, uint16_t id);
// One datagram from the server.
Judgement judgeDnsAnswer(std::span<const uint8_t> datagram, uint16_t id);

std::unique_ptr<CheckConversation> makeDnsConversation(const config::HealthCheck& check,
                                                       uint16_t id);

}  // namespace ballast::upstream::checks
