// src/etcd/etcd_kv.h — the two requests Ballast makes of etcd outside the watch: read every
// key under a prefix, and replace them all in one transaction. Each tries the endpoints in
// order and returns the first answer, or why none answered.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "etcd/etcd_http.h"
#include "etcd/etcd_replies.h"

namespace ballast::etcd {

struct RangeOutcome {
  std::optional<RangeReply> reply;
  std::string error;     // why no endpoint answered, or what the answer was
  std::string endpoint;  // the one that answered
};

// revision 0: the latest. A revision already compacted away is read as the latest instead.
RangeOutcome readPrefix(const EtcdHttp& http, const std::vector<std::string>& endpoints,
                        std::string_view prefix, int64_t revision);

struct TxnOutcome {
  std::optional<TxnReply> reply;
  std::string error;
};

// Puts each key and deletes every other key under prefix, atomically.
TxnOutcome replacePrefix(const EtcdHttp& http, const std::vector<std::string>& endpoints,
                         std::string_view prefix, const std::vector<KeyValue>& puts);

}  // namespace ballast::etcd
