// src/policy/client_prefix.h — a client's address cut to a prefix and hashed, the key of every
// per-client limit (rate-limit rules keyed by source_ip, per-IP connection limits): an IPv6 /64
// is usually one subscriber, and IPv4-mapped IPv6 addresses count as IPv4.
#pragma once

#include <cstdint>

#include "net/address.h"

namespace ballast::policy {

// `seed` keeps the keys of different rules or listeners apart. IPv4 and IPv6 never share a key.
uint64_t hashClientPrefix(uint64_t seed, const net::SocketAddress& client, unsigned ipv4_prefix,
                          unsigned ipv6_prefix);

}  // namespace ballast::policy
