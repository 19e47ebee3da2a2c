// tests/fuzz/htpasswd_fuzz.cpp — libFuzzer target for the basic_auth users file parser (and the
// Authorization: Basic parser). Beyond "no crash": every error has a position inside the input,
// the kept users are sorted, unique and found by name, and every kept hash is of an accepted
// scheme; parsed credentials have a non-empty user without a colon.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "l7/basic_auth_filter.h"
#include "policy/htpasswd.h"

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
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<ballast::policy::HtpasswdError> errors;
  const auto users = ballast::policy::parseHtpasswd(text, &errors);
  int lines = 1;
  for (char c : text) {
    lines += c == '\n' ? 1 : 0;
  }
  check(errors.size() <= ballast::policy::kMaxHtpasswdErrors);
  for (const auto& e : errors) {
    check(e.line >= 1 && e.line <= lines && e.column >= 1 && !e.message.empty());
  }
  for (size_t i = 0; i < users.entries.size(); ++i) {
    const auto& [user, hash] = users.entries[i];
    check(!user.empty() && user.size() <= ballast::policy::kMaxHtpasswdUserBytes);
    check(i == 0 || users.entries[i - 1].first < user);
    check(users.find(user) == &hash);
    check(hash.starts_with("$2") || hash.starts_with("$5$") || hash.starts_with("$6$") ||
          hash.starts_with("$y$"));
  }
  if (const auto creds = ballast::l7::parseBasicCredentials(text)) {
    check(!creds->user.empty() && creds->user.find(':') == std::string::npos);
  }
  return 0;
}
