// tests/fuzz/acme_reply_fuzz.cpp — libFuzzer target for the readers of an ACME directory's JSON
// replies (directory, order, authorization, problem document). Beyond "no crash": nothing
// throws (the ACME thread would die), and what a reader accepts holds what the client relies
// on (a directory has its three URLs; a token it would serve is base64url).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "acme/acme_replies.h"

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  namespace acme = ballast::acme;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    if (auto d = acme::parseDirectory(body)) {
      check(!d->new_nonce.empty() && !d->new_account.empty() && !d->new_order.empty());
    }
    if (auto o = acme::parseOrder(body)) {
      check(o->authorizations.size() <= size);
    }
    for (std::string_view type : {"http-01", "tls-alpn-01", ""}) {
      if (auto a = acme::parseAuthorization(body, type); a && acme::isToken(a->token)) {
        for (char c : a->token) {
          check(c != '/' && c != '.' && c != '\r' && c != '\n');
        }
      }
    }
    (void)acme::problemText(body);
    (void)acme::isBadNonce(body);
  } catch (...) {
    std::abort();
  }
  return 0;
}
