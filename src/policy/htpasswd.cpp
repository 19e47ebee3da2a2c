// src/policy/htpasswd.cpp — users file parsing, scheme checks and the crypt(3) comparison.
#include "policy/htpasswd.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>

namespace ballast::policy {
namespace {

using namespace std::string_view_literals;

// The prefixes of the schemes crypt(3) checks that we accept, and what each is called.
constexpr std::array kAcceptedPrefixes = {"$2y$"sv, "$2b$"sv, "$2a$"sv, "$6$"sv, "$5$"sv, "$y$"sv};
constexpr std::string_view kAccepted =
    "bcrypt ($2y$: htpasswd -B), sha512-crypt ($6$), sha256-crypt ($5$) or yescrypt ($y$)";

constexpr size_t kBcryptHashChars = 53;  // 22 of salt, 31 of hash
constexpr int kBcryptMinCost = 4;
constexpr int kBcryptMaxCost = 31;
constexpr size_t kSha256HashChars = 43;
constexpr size_t kSha512HashChars = 86;
constexpr size_t kShaMaxSaltChars = 16;
constexpr int kDecimal = 10;

bool cryptChars(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '/';
  });
}

// "$2y$NN$" then 53 characters, NN a cost crypt(3) takes: what htpasswd -B writes.
bool bcryptShape(std::string_view hash) {
  constexpr size_t kCostAt = 4;
  constexpr size_t kBodyAt = 7;
  if (hash.size() != kBodyAt + kBcryptHashChars || hash[kBodyAt - 1] != '$') {
    return false;
  }
  const char tens = hash[kCostAt];
  const char ones = hash[kCostAt + 1];
  if (tens < '0' || tens > '9' || ones < '0' || ones > '9') {
    return false;
  }
  const int cost = (tens - '0') * kDecimal + (ones - '0');
  return cost >= kBcryptMinCost && cost <= kBcryptMaxCost && cryptChars(hash.substr(kBodyAt));
}

// "$5$" or "$6$", optional "rounds=N$", a salt of at most 16 characters, '$', the hash.
bool shaCryptShape(std::string_view hash, size_t hash_chars) {
  constexpr size_t kPrefix = 3;
  std::string_view rest = hash.substr(kPrefix);
  if (rest.starts_with("rounds=")) {
    rest = rest.substr(rest.find('$') == std::string_view::npos ? rest.size() : rest.find('$') + 1);
  }
  const size_t dollar = rest.find('$');
  return dollar != std::string_view::npos && dollar <= kShaMaxSaltChars &&
         rest.size() - dollar - 1 == hash_chars && cryptChars(rest.substr(dollar + 1));
}

std::string_view trimEnd(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Why a hash is refused, naming the scheme it looks like; empty when it is accepted.
std::string refusal(std::string_view hash) {
  if (hash.starts_with("$apr1$")) {
    return "MD5-apr1 hashes ($apr1$, htpasswd's default) are too weak; use " +
           std::string(kAccepted);
  }
  if (hash.starts_with("$1$")) {
    return "MD5-crypt hashes ($1$) are too weak; use " + std::string(kAccepted);
  }
  if (hash.starts_with("{SHA}")) {
    return "unsalted SHA-1 hashes ({SHA}, htpasswd -s) are too weak; use " + std::string(kAccepted);
  }
  if (std::none_of(kAcceptedPrefixes.begin(), kAcceptedPrefixes.end(),
                   [hash](std::string_view p) { return hash.starts_with(p); })) {
    return "not a supported hash (plain text, DES or an unknown scheme); use " +
           std::string(kAccepted);
  }
  // A hash that could never match must fail here, not as a wrong password on every request.
  // (libxcrypt calls sha256-crypt "legacy"; it is still salted and iterated, so it passes.)
  const std::string copy(hash);
  const int salt = crypt_checksalt(copy.c_str());
  const bool shape = hash.starts_with("$2")    ? bcryptShape(hash)
                     : hash.starts_with("$5$") ? shaCryptShape(hash, kSha256HashChars)
                     : hash.starts_with("$6$") ? shaCryptShape(hash, kSha512HashChars)
                                               : true;
  if ((salt != CRYPT_SALT_OK && salt != CRYPT_SALT_METHOD_LEGACY) || !shape) {
    return "malformed hash (cost, salt or length is not what crypt(3) writes)";
  }
  return {};
}

}  // namespace

const std::string* HtpasswdUsers::find(std::string_view user) const {
  const auto it = std::lower_bound(entries.begin(), entries.end(), user,
                                   [](const auto& e, std::string_view u) { return e.first < u; });
  return it != entries.end() && it->first == user ? &it->second : nullptr;
}

HtpasswdUsers parseHtpasswd(std::string_view text, std::vector<HtpasswdError>* errors) {
  HtpasswdUsers users;
  std::vector<int> lines;  // each entry's line, for duplicate reports
  const auto report = [errors](int line, int column, std::string message) {
    if (errors != nullptr && errors->size() < kMaxHtpasswdErrors) {
      errors->push_back({line, column, std::move(message)});
    }
  };
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    const std::string_view line = trimEnd(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      report(line_no, 1, "expected user:hash");
      continue;
    }
    const std::string_view user = line.substr(0, colon);
    // htpasswd may append `:comment` fields; the hash never holds a colon.
    std::string_view hash = line.substr(colon + 1);
    hash = hash.substr(0, hash.find(':'));
    const int hash_column = static_cast<int>(colon) + 2;
    if (user.size() > kMaxHtpasswdUserBytes) {
      report(line_no, 1, "user name longer than 255 bytes");
      continue;
    }
    if (std::any_of(user.begin(), user.end(),
                    [](char c) { return static_cast<unsigned char>(c) < ' '; })) {
      report(line_no, 1, "user name with control characters");
      continue;
    }
    if (const std::string why = refusal(hash); !why.empty()) {
      report(line_no, hash_column, "user \"" + std::string(user) + "\": " + why);
      continue;
    }
    users.entries.emplace_back(std::string(user), std::string(hash));
    lines.push_back(line_no);
  }
  // Sort with the line numbers alongside, so a duplicate names where it was written.
  std::vector<size_t> order(users.entries.size());
  for (size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(), [&users](size_t a, size_t b) {
    return users.entries[a].first < users.entries[b].first;
  });
  HtpasswdUsers sorted;
  for (const size_t i : order) {
    if (!sorted.entries.empty() && sorted.entries.back().first == users.entries[i].first) {
      report(lines[i], 1, "user \"" + users.entries[i].first + "\" is listed twice");
      continue;
    }
    sorted.entries.push_back(std::move(users.entries[i]));
  }
  return sorted;
}

bool checkPassword(std::string_view password, const std::string& hash, CryptScratch& scratch) {
  // crypt(3) reads a NUL-terminated phrase: a password with a NUL byte cannot be the one hashed.
  if (password.find('\0') != std::string_view::npos) {
    return false;
  }
  const std::string phrase(password);
  const char* out = crypt_rn(phrase.c_str(), hash.c_str(), &scratch.data, sizeof scratch.data);
  if (out == nullptr || out[0] == '*') {
    return false;  // crypt_rn's failure token starts with '*'
  }
  const std::string_view computed(out);
  return computed.size() == hash.size() &&
         CRYPTO_memcmp(computed.data(), hash.data(), hash.size()) == 0;
}

}  // namespace ballast::policy
