// src/config/acme_sections.cpp — reads and checks a listener's `tls.acme:` block.
#include "config/acme_sections.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "config/host_names.h"
#include "config/rate_limit_sections.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kAcmeKeys = {"directory"sv, "email"sv, "domains"sv,       "challenge"sv,
                                  "storage"sv,   "ca"sv,    "retry_backoff"sv, "store"sv};
constexpr std::array<Choice<AcmeChallenge>, 2> kChallenges = {{
    {"http-01", AcmeChallenge::kHttp01},
    {"tls-alpn-01", AcmeChallenge::kTlsAlpn01},
}};
constexpr size_t kMaxDomainBytes = 253;  // RFC 1035's limit on a name's text form

std::string lowerName(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    out.push_back(lowerAscii(c));
  }
  return out;
}

// Empty when the storage directory can be written, or created in a parent we can write.
std::string storageProblem(const std::string& dir) {
  if (::access(dir.c_str(), F_OK) == 0) {
    return ::access(dir.c_str(), W_OK | X_OK) == 0
               ? std::string()
               : "cannot write " + dir + ": " + std::strerror(errno);
  }
  const size_t slash = dir.rfind('/');
  const std::string parent = slash == 0 ? "/" : dir.substr(0, slash);
  if (::access(parent.c_str(), W_OK | X_OK) != 0) {
    return dir + " does not exist and cannot be created in " + parent + ": " + std::strerror(errno);
  }
  return {};
}

void readDomains(FileReader& file, const Field& field, AcmeSettings& acme) {
  for (const Field& item : listItems(file, field, "domain")) {
    auto name = readScalar(file, item, "a domain name");
    if (!name) {
      continue;
    }
    // ACME issues for DNS names; wildcards need dns-01, which Ballast does not answer.
    if (!isDottedName(*name) || name->size() > kMaxDomainBytes ||
        name->find('_') != std::string::npos) {
      file.error(item.valueMark(), "tls.acme.domains: " + quote(*name) + " is not a DNS name");
      continue;
    }
    // A name twice would be asked for twice, and the issued certificate's SANs (each name
    // once) would never match the list again: renewed on every start.
    const std::string lower = lowerName(*name);
    if (std::find(acme.domains.begin(), acme.domains.end(), lower) != acme.domains.end()) {
      file.error(item.valueMark(), "tls.acme.domains: " + quote(*name) + " is listed twice");
      continue;
    }
    acme.domains.push_back(lower);
  }
  if (acme.domains.empty() && listItems(file, field, "domain").empty()) {
    file.error(field.valueMark(), "tls.acme.domains: at least one name is needed");
  }
}

}  // namespace

void readAcme(FileReader& file, const Field& field, AcmeSettings& acme) {
  const MapReader map(file, field, "tls.acme", kAcmeKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.require(file, "directory")) {
    if (auto url = readScalar(file, *f, "an https URL")) {
      if (!url->starts_with("https://") || url->size() <= "https://"sv.size()) {
        reportExpected(file, *f, "an https URL", quote(*url));
      } else {
        acme.directory = *url;
      }
    }
  }
  if (const Field* f = map.find("email")) {
    if (auto email = readScalar(file, *f, "an email address")) {
      const size_t at = email->find('@');
      if (!email->empty() && (at == std::string::npos || at == 0 || at + 1 == email->size() ||
                              email->find_first_of(" ,<>\"") != std::string::npos)) {
        reportExpected(file, *f, "an email address", quote(*email));
      } else {
        acme.email = *email;
      }
    }
  }
  if (const Field* f = map.require(file, "domains")) {
    readDomains(file, *f, acme);
  }
  if (const Field* f = map.find("challenge")) {
    assign(acme.challenge, readChoice<AcmeChallenge>(file, *f, kChallenges));
  }
  if (const Field* f = map.require(file, "storage")) {
    if (auto dir = readFilePath(file, *f, false)) {
      if (const std::string why = storageProblem(*dir); !why.empty()) {
        file.error(f->valueMark(), "tls.acme.storage: " + why);
      } else {
        acme.storage = *dir;
      }
    }
  }
  if (const Field* f = map.find("ca")) {
    if (auto path = readFilePath(file, *f, false)) {
      if (::access(path->c_str(), R_OK) != 0) {
        file.error(f->valueMark(),
                   "tls.acme.ca: cannot read " + *path + ": " + std::strerror(errno));
      } else {
        acme.ca = *path;
      }
    }
  }
  if (const Field* f = map.find("retry_backoff")) {
    assign(acme.retry_backoff, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("store")) {
    if (const auto text = readScalar(file, *f, "redis://HOST:PORT")) {
      if (auto endpoint = parseRedisUrl(*text)) {
        acme.store = std::move(*endpoint);
      } else {
        reportExpected(file, *f, "redis://HOST:PORT", quote(*text));
      }
    }
  }
}

}  // namespace ballast::config
