// src/etcd/etcd_replies.cpp — base64, key ranges, and the gateway's JSON shapes.
#include "etcd/etcd_replies.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <nlohmann/json.hpp>

#include "core/base64.h"

namespace ballast::etcd {
namespace {

using json = nlohmann::json;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr unsigned kSextetBits = 6;
constexpr unsigned kByteBits = 8;
constexpr unsigned kSextetMask = 0x3f;
constexpr unsigned kByteMask = 0xff;
constexpr size_t kGroup = 4;

// An int64 the gateway sends as a string (or, leniently, as a number); absent is 0.
std::optional<int64_t> readInt(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) {
    return 0;
  }
  if (it->is_number_integer()) {
    return it->get<int64_t>();
  }
  if (!it->is_string()) {
    return std::nullopt;
  }
  const auto& text = it->get_ref<const std::string&>();
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> readBytes(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) {
    return std::string();  // proto3 leaves empty fields out
  }
  if (!it->is_string()) {
    return std::nullopt;
  }
  return base64Decode(it->get_ref<const std::string&>());
}

// The gateway's error document: {"error": "...", "code": N, "message": "..."}, or inside a
// watch stream {"error": {"grpc_code": N, "message": "..."}}.
std::string errorOf(const json& doc) {
  if (const auto it = doc.find("message"); it != doc.end() && it->is_string()) {
    return "etcd: " + it->get<std::string>();
  }
  if (const auto it = doc.find("error"); it != doc.end()) {
    if (it->is_string()) {
      return "etcd: " + it->get<std::string>();
    }
    if (it->is_object()) {
      return errorOf(*it);
    }
  }
  return {};
}

std::optional<json> parseObject(std::string_view body, std::string* error) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error = "not a JSON object";
    return std::nullopt;
  }
  if (auto e = errorOf(doc); !e.empty()) {
    *error = e;
    return std::nullopt;
  }
  return doc;
}

std::optional<int64_t> headerRevision(const json& doc) {
  const auto it = doc.find("header");
  if (it == doc.end() || !it->is_object()) {
    return std::nullopt;
  }
  return readInt(*it, "revision");
}

}  // namespace

std::string base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * kGroup);
  unsigned acc = 0;
  unsigned bits = 0;
  for (const char c : bytes) {
    acc = (acc << kByteBits) | (static_cast<unsigned char>(c));
    bits += kByteBits;
    while (bits >= kSextetBits) {
      bits -= kSextetBits;
      out += kAlphabet[(acc >> bits) & kSextetMask];
    }
  }
  if (bits > 0) {
    out += kAlphabet[(acc << (kSextetBits - bits)) & kSextetMask];
  }
  while (out.size() % kGroup != 0) {
    out += '=';
  }
  return out;
}

std::optional<std::string> base64Decode(std::string_view text) {
  // The gateway writes Go's padded standard encoding.
  return core::base64Decode(text, core::Base64Alphabet::kStandard, /*padded=*/true);
}

std::string prefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < kByteMask) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::optional<RangeReply> parseRange(std::string_view body, std::string* error) {
  const auto doc = parseObject(body, error);
  if (!doc) {
    return std::nullopt;
  }
  RangeReply reply;
  const auto revision = headerRevision(*doc);
  if (!revision || *revision <= 0) {
    *error = "range reply without a header revision";
    return std::nullopt;
  }
  reply.revision = *revision;
  const auto kvs = doc->find("kvs");
  if (kvs == doc->end()) {
    return reply;  // no key under the prefix
  }
  if (!kvs->is_array()) {
    *error = "range reply: kvs is not a list";
    return std::nullopt;
  }
  for (const auto& item : *kvs) {
    if (!item.is_object()) {
      *error = "range reply: a kvs entry is not an object";
      return std::nullopt;
    }
    auto key = readBytes(item, "key");
    auto value = readBytes(item, "value");
    const auto mod = readInt(item, "mod_revision");
    if (!key || !value || !mod) {
      *error = "range reply: a key, value or mod_revision is malformed";
      return std::nullopt;
    }
    reply.kvs.push_back({std::move(*key), std::move(*value), *mod});
  }
  return reply;
}

std::optional<WatchResponse> parseWatchLine(std::string_view line, std::string* error) {
  const auto doc = parseObject(line, error);
  if (!doc) {
    return std::nullopt;
  }
  const auto result = doc->find("result");
  if (result == doc->end() || !result->is_object()) {
    *error = "watch message without a result";
    return std::nullopt;
  }
  WatchResponse w;
  const auto revision = headerRevision(*result);
  const auto compact = readInt(*result, "compact_revision");
  if (!revision || !compact) {
    *error = "watch message: a revision is malformed";
    return std::nullopt;
  }
  w.revision = *revision;
  w.compact_revision = *compact;
  w.created = result->value("created", false);
  w.canceled = result->value("canceled", false);
  if (const auto it = result->find("cancel_reason"); it != result->end() && it->is_string()) {
    w.cancel_reason = it->get<std::string>();
  }
  if (const auto it = result->find("events"); it != result->end()) {
    if (!it->is_array()) {
      *error = "watch message: events is not a list";
      return std::nullopt;
    }
    w.events = it->size();
  }
  return w;
}

std::optional<TxnReply> parseTxn(std::string_view body, std::string* error) {
  const auto doc = parseObject(body, error);
  if (!doc) {
    return std::nullopt;
  }
  const auto revision = headerRevision(*doc);
  if (!revision || *revision <= 0) {
    *error = "txn reply without a header revision";
    return std::nullopt;
  }
  const auto succeeded = doc->find("succeeded");
  return TxnReply{succeeded != doc->end() && succeeded->is_boolean() && succeeded->get<bool>(),
                  *revision};
}

std::string rangeRequest(std::string_view prefix, int64_t revision) {
  json body = {{"key", base64Encode(prefix)}, {"range_end", base64Encode(prefixEnd(prefix))}};
  if (revision > 0) {
    body["revision"] = std::to_string(revision);
  }
  return body.dump();
}

std::string watchRequest(std::string_view prefix, int64_t start_revision) {
  return json{{"create_request",
               {{"key", base64Encode(prefix)},
                {"range_end", base64Encode(prefixEnd(prefix))},
                {"start_revision", std::to_string(start_revision)}}}}
      .dump();
}

std::string pushRequest(std::string_view prefix, const std::vector<KeyValue>& puts) {
  std::vector<const KeyValue*> sorted;
  for (const auto& kv : puts) {
    sorted.push_back(&kv);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const KeyValue* a, const KeyValue* b) { return a->key < b->key; });
  json ops = json::array();
  const auto deleteRange = [&ops](const std::string& from, const std::string& to) {
    if (from < to) {
      ops.push_back({{"request_delete_range",
                      {{"key", base64Encode(from)}, {"range_end", base64Encode(to)}}}});
    }
  };
  std::string from(prefix);
  for (const KeyValue* kv : sorted) {
    deleteRange(from, kv->key);
    ops.push_back(
        {{"request_put", {{"key", base64Encode(kv->key)}, {"value", base64Encode(kv->value)}}}});
    from = kv->key + '\0';  // the next key after this one
  }
  deleteRange(from, prefixEnd(prefix));
  return json{{"success", ops}}.dump();
}

}  // namespace ballast::etcd
