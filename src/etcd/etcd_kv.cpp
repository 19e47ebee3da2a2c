// src/etcd/etcd_kv.cpp — endpoint failover for range and txn.
#include "etcd/etcd_kv.h"

namespace ballast::etcd {
namespace {

constexpr long kHttpOk = 200;

// The reply body when an endpoint answered 200, else nullopt with *error naming the endpoint.
std::optional<std::string> ask(const EtcdHttp& http, const std::string& endpoint,
                               std::string_view path, const std::string& body, std::string* error) {
  EtcdReply reply = http.post(endpoint, path, body);
  if (reply.status == kHttpOk) {
    return std::move(reply.body);
  }
  std::string why = reply.status == 0 ? reply.error : "HTTP " + std::to_string(reply.status);
  if (reply.status != 0) {
    // The gateway's error document says what etcd refused.
    std::string detail;
    (void)parseTxn(reply.body, &detail);
    if (detail.starts_with("etcd: ")) {
      why += " (" + detail + ")";
    }
  }
  *error = endpoint + ": " + why;
  return std::nullopt;
}

}  // namespace

RangeOutcome readPrefix(const EtcdHttp& http, const std::vector<std::string>& endpoints,
                        std::string_view prefix, int64_t revision) {
  RangeOutcome out;
  std::vector<std::string> errors;
  for (const auto& endpoint : endpoints) {
    std::string error;
    auto body = ask(http, endpoint, "/v3/kv/range", rangeRequest(prefix, revision), &error);
    if (!body && revision > 0 && error.find("compacted") != std::string::npos) {
      body = ask(http, endpoint, "/v3/kv/range", rangeRequest(prefix, 0), &error);
    }
    if (!body) {
      errors.push_back(error);
      continue;
    }
    out.reply = parseRange(*body, &error);
    out.endpoint = endpoint;
    if (!out.reply) {
      out.error = endpoint + ": " + error;
    }
    return out;
  }
  for (const auto& e : errors) {
    out.error += out.error.empty() ? e : "; " + e;
  }
  return out;
}

TxnOutcome replacePrefix(const EtcdHttp& http, const std::vector<std::string>& endpoints,
                         std::string_view prefix, const std::vector<KeyValue>& puts) {
  TxnOutcome out;
  const std::string request = pushRequest(prefix, puts);
  for (const auto& endpoint : endpoints) {
    std::string error;
    auto body = ask(http, endpoint, "/v3/kv/txn", request, &error);
    if (!body) {
      out.error += out.error.empty() ? error : "; " + error;
      continue;
    }
    out.reply = parseTxn(*body, &error);
    out.error = out.reply ? "" : endpoint + ": " + error;
    return out;
  }
  return out;
}

}  // namespace ballast::etcd
