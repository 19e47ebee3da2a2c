// src/policy/htpasswd.h — an htpasswd users file (`user:hash` per line) read into an immutable
// table, and the crypt(3) check of a password against one of its hashes (libxcrypt). Only
// modern salted schemes are accepted: bcrypt ($2y$, $2b$, $2a$), sha512-crypt ($6$),
// sha256-crypt ($5$) and yescrypt ($y$); MD5 (apr1, $1$), {SHA}, DES and plain text are
// refused at load, because a leaked file of those is as good as the passwords.
#pragma once

#include <crypt.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ballast::policy {

// A users file larger than this is refused: real files hold hundreds of users, not millions.
inline constexpr size_t kMaxHtpasswdBytes = 16 * 1024 * 1024;
// A user name longer than this is refused at load and never looked up in a request.
inline constexpr size_t kMaxHtpasswdUserBytes = 255;
// A file's errors are all reported up to this many.
inline constexpr size_t kMaxHtpasswdErrors = 20;

struct HtpasswdUsers {
  // Sorted by user name; names are unique.
  std::vector<std::pair<std::string, std::string>> entries;
  // The stored hash of `user`; nullptr when there is no such user.
  const std::string* find(std::string_view user) const;
};

struct HtpasswdError {
  int line = 0;  // 1-based
  int column = 0;
  std::string message;
};

// Parses a users file's text: `user:hash` per line, blank lines and `#` comments skipped. Every
// bad line is reported (up to kMaxHtpasswdErrors); the good ones are kept.
HtpasswdUsers parseHtpasswd(std::string_view text, std::vector<HtpasswdError>* errors);

// crypt(3)'s scratch space: about 32 KiB, so one per worker, reused, never on the stack.
struct CryptScratch {
  crypt_data data{};
};

// Whether `password` hashes to `hash` (a hash parseHtpasswd accepted). Costs what the hash's
// scheme and cost factor cost: about a millisecond per bcrypt cost-5 check. Any thread, each
// with its own scratch.
bool checkPassword(std::string_view password, const std::string& hash, CryptScratch& scratch);

}  // namespace ballast::policy
