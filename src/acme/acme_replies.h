// src/acme/acme_replies.h — what the ACME client reads from a directory's JSON replies
// (RFC 8555 section 7): the directory, orders, authorizations and problem documents. The
// directory is remote input: a reply of the wrong shape is a nullopt or an empty field, never
// an exception.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ballast::acme {

struct DirectoryReply {
  std::string new_nonce;
  std::string new_account;
  std::string new_order;
};
// nullopt unless the three URLs are there.
std::optional<DirectoryReply> parseDirectory(std::string_view body);

struct OrderReply {
  std::string status;  // pending, ready, processing, valid, invalid
  std::vector<std::string> authorizations;
  std::string finalize;
  std::string certificate;  // once valid
};
std::optional<OrderReply> parseOrder(std::string_view body);

struct AuthorizationReply {
  std::string status;  // pending, valid, invalid, …
  std::string domain;  // identifier.value
  // The challenge of the wanted type; empty url when the directory offers none.
  std::string challenge_url;
  std::string token;
  std::string error;  // a challenge's error ("type detail"), when one failed
};
std::optional<AuthorizationReply> parseAuthorization(std::string_view body,
                                                     std::string_view challenge_type);

// "urn:ietf:params:acme:error:badNonce detail" of a problem document; empty when the body is
// not one.
std::string problemText(std::string_view body);
bool isBadNonce(std::string_view body);

// A key authorization's token must be base64url (RFC 8555 section 8.1); anything else is not
// put in a file path or a served body.
bool isToken(std::string_view token);

}  // namespace ballast::acme
