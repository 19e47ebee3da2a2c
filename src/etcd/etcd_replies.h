// src/etcd/etcd_replies.h — what Ballast reads from etcd's v3 JSON gateway (etcd 3.4:
// /v3/kv/range, /v3/kv/txn and the streaming /v3/watch) and the request bodies it sends.
// The gateway carries keys and values base64-encoded and 64-bit numbers as JSON strings. A
// reply is remote input: one of the wrong shape is a nullopt with a reason, never an exception.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ballast::etcd {

// Standard base64 with padding, as the gateway encodes bytes fields.
std::string base64Encode(std::string_view bytes);
std::optional<std::string> base64Decode(std::string_view text);

// The end of the key range that holds every key starting with prefix (etcd's "prefix end":
// the prefix with its last byte below 0xff incremented; "\0" for all keys).
std::string prefixEnd(std::string_view prefix);

struct KeyValue {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;
};

struct RangeReply {
  int64_t revision = 0;  // the store's revision the read saw
  std::vector<KeyValue> kvs;
};

struct WatchResponse {
  int64_t revision = 0;  // header.revision
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;  // set when the watch was canceled because of compaction
  std::string cancel_reason;
  size_t events = 0;  // changes under the prefix this message reports
};

struct TxnReply {
  bool succeeded = false;
  int64_t revision = 0;
};

// Each returns nullopt and sets *error when the body is not that reply (an error document's
// own message is used when the gateway sent one).
std::optional<RangeReply> parseRange(std::string_view body, std::string* error);
// One line of the watch stream: {"result": {...}} or {"error": {...}}.
std::optional<WatchResponse> parseWatchLine(std::string_view line, std::string* error);
std::optional<TxnReply> parseTxn(std::string_view body, std::string* error);

// Request bodies.
std::string rangeRequest(std::string_view prefix, int64_t revision);  // revision 0: latest
std::string watchRequest(std::string_view prefix, int64_t start_revision);
// Puts each key and deletes every other key under prefix, in one transaction: nodes see the
// whole push or nothing of it. etcd refuses a delete range overlapping a put of the same
// transaction, so the deletes cover the gaps between the (sorted) keys.
std::string pushRequest(std::string_view prefix, const std::vector<KeyValue>& puts);

}  // namespace ballast::etcd
