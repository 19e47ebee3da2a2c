// src/acme/acme_replies.cpp — shape-checked reads of ACME JSON with nlohmann::json.
#include "acme/acme_replies.h"

#include <nlohmann/json.hpp>

namespace ballast::acme {
namespace {

using nlohmann::json;

constexpr size_t kMaxTokenBytes = 256;

std::optional<json> object(std::string_view body) {
  auto j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return std::nullopt;
  }
  return j;
}

std::string text(const json& j, const char* key) {
  if (!j.is_object()) {
    return {};
  }
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string errorText(const json& j) {
  if (!j.is_object()) {
    return {};
  }
  auto it = j.find("error");
  if (it == j.end() || !it->is_object()) {
    return {};
  }
  return text(*it, "type") + " " + text(*it, "detail");
}

}  // namespace

std::optional<DirectoryReply> parseDirectory(std::string_view body) {
  auto j = object(body);
  if (!j) {
    return std::nullopt;
  }
  DirectoryReply d{text(*j, "newNonce"), text(*j, "newAccount"), text(*j, "newOrder")};
  if (d.new_nonce.empty() || d.new_account.empty() || d.new_order.empty()) {
    return std::nullopt;
  }
  return d;
}

std::optional<OrderReply> parseOrder(std::string_view body) {
  auto j = object(body);
  if (!j) {
    return std::nullopt;
  }
  OrderReply o{text(*j, "status"), {}, text(*j, "finalize"), text(*j, "certificate")};
  if (auto it = j->find("authorizations"); it != j->end() && it->is_array()) {
    for (const auto& a : *it) {
      if (a.is_string()) {
        o.authorizations.push_back(a.get<std::string>());
      }
    }
  }
  return o;
}

std::optional<AuthorizationReply> parseAuthorization(std::string_view body,
                                                     std::string_view challenge_type) {
  auto j = object(body);
  if (!j) {
    return std::nullopt;
  }
  AuthorizationReply a;
  a.status = text(*j, "status");
  if (auto it = j->find("identifier"); it != j->end()) {
    a.domain = text(*it, "value");
  }
  if (auto it = j->find("challenges"); it != j->end() && it->is_array()) {
    for (const auto& c : *it) {
      if (a.error.empty()) {
        a.error = errorText(c);
      }
      if (text(c, "type") == challenge_type && a.challenge_url.empty()) {
        a.challenge_url = text(c, "url");
        a.token = text(c, "token");
      }
    }
  }
  return a;
}

std::string problemText(std::string_view body) {
  auto j = object(body);
  if (!j) {
    return {};
  }
  const std::string type = text(*j, "type");
  const std::string detail = text(*j, "detail");
  return type.empty() && detail.empty() ? std::string() : type + " " + detail;
}

bool isBadNonce(std::string_view body) {
  auto j = object(body);
  return j && text(*j, "type") == "urn:ietf:params:acme:error:badNonce";
}

bool isToken(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenBytes) {
    return false;
  }
  for (char c : token) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace ballast::acme
