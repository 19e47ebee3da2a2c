// src/config/basic_auth_sections.cpp — reading `basic_auth:` and its htpasswd users file.
#include "config/basic_auth_sections.h"

#include <array>

#include "config/file_text.h"
#include "policy/htpasswd.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kBasicAuthKeys = {"realm"sv, "users_file"sv, "forward_credentials"sv};
constexpr size_t kMaxRealmBytes = 128;

void readUsersFile(FileReader& file, const Field& field, BasicAuth& auth) {
  const auto path = readFilePath(file, field, false);
  if (!path) {
    return;
  }
  auth.users_file = *path;
  std::string text;
  if (const auto why = readWholeFile(*path, text)) {
    file.error(field.valueMark(), "users_file: cannot read " + *path + ": " + *why);
    return;
  }
  if (text.size() > policy::kMaxHtpasswdBytes) {
    file.error(field.valueMark(), "users_file: " + *path + " is larger than 16MiB");
    return;
  }
  std::vector<policy::HtpasswdError> errors;
  auto users = std::make_shared<policy::HtpasswdUsers>(policy::parseHtpasswd(text, &errors));
  // The file's own errors point into the file, where they are to be fixed.
  for (auto& e : errors) {
    file.diagnostics().add({*path, e.line, e.column}, "users_file: " + std::move(e.message));
  }
  if (errors.empty() && users->entries.empty()) {
    file.error(field.valueMark(), "users_file: " + *path + " has no users");
    return;
  }
  auth.users = std::move(users);
}

}  // namespace

void readBasicAuth(FileReader& file, const Field& field, BasicAuth& auth) {
  if (field.value.IsScalar() &&
      (field.value.Scalar() == "off" || field.value.Scalar() == "false")) {
    auth.enabled = false;  // a route open to all under a listener that asks for passwords
    return;
  }
  const MapReader map(file, field, "basic_auth", kBasicAuthKeys);
  if (!map.ok()) {
    return;
  }
  auth.enabled = true;
  if (const Field* f = map.require(file, "users_file")) {
    readUsersFile(file, *f, auth);
  }
  if (const Field* f = map.find("realm")) {
    const auto realm = readScalar(file, *f, "a realm");
    if (realm && (realm->empty() || realm->size() > kMaxRealmBytes ||
                  realm->find_first_of("\"\\\r\n") != std::string::npos)) {
      file.error(f->valueMark(), "realm: 1 to 128 bytes, without quotes or backslashes");
    } else {
      assign(auth.realm, realm);
    }
  }
  if (const Field* f = map.find("forward_credentials")) {
    assign(auth.forward_credentials, readBool(file, *f));
  }
}

}  // namespace ballast::config
