// src/l4/hash_key.h — the L4 hash key of a client address for source_hash and consistent_hash.
#pragma once

#include <xxhash.h>

#include <cstdint>

#include "config/config_types.h"
#include "net/address.h"

namespace ballast::l4 {

// source_ip hashes the address bytes; source_ip_port mixes the port in as the seed, so two
// connections from one host may land on different backends.
inline uint64_t hashKey(config::HashKey key, const net::SocketAddress& client) {
  const auto bytes = client.addressBytes();
  const uint64_t seed = key == config::HashKey::kSourceIpPort ? client.port() : 0;
  return XXH64(bytes.data(), bytes.size(), seed);
}

}  // namespace ballast::l4
