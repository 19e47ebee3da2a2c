// src/config/acl_sections.cpp — reading ACLs and their files into prefix sets.
#include "config/acl_sections.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "config/limits.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kAclKeys = {"allow"sv, "deny"sv, "files"sv};
// A block list of a few million lines is plausible; beyond this a file is a mistake.
constexpr size_t kMaxAclFileBytes = 256U << 20;

bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isBlank(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isBlank(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

void readCidrList(FileReader& file, const Field& field, std::vector<net::Cidr>& out) {
  for (const Field& item : listItems(file, field, "prefix")) {
    auto text = readScalar(file, item, "a prefix such as 10.0.0.0/8 or 2001:db8::/32");
    if (!text) {
      continue;
    }
    if (auto cidr = net::Cidr::parse(*text)) {
      out.push_back(*cidr);
    } else {
      file.error(item.valueMark(), field.key + ": " + quote(*text) +
                                       " is not an address or prefix (10.0.0.0/8, 2001:db8::/32)");
    }
  }
}

}  // namespace

std::vector<AclFileEntry> parseAclFile(std::string_view text, std::vector<AclFileError>* errors) {
  std::vector<AclFileEntry> out;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t hash = line.find('#');
    const std::string_view content = trim(line.substr(0, hash));
    if (content.empty()) {
      continue;
    }
    const auto column = static_cast<int>(content.data() - line.data()) + 1;
    AclFileEntry entry;
    std::string_view prefix = content;
    const size_t space = content.find_first_of(" \t");
    if (space != std::string_view::npos) {
      const std::string_view word = content.substr(0, space);
      if (word != "allow" && word != "deny") {
        if (errors->size() < kMaxErrors) {
          errors->push_back(
              {line_no, column,
               "expected `allow CIDR`, `deny CIDR` or a CIDR, got \"" + std::string(word) + "\""});
        }
        continue;
      }
      entry.allow = word == "allow";
      prefix = trim(content.substr(space));
    }
    auto cidr = net::Cidr::parse(prefix);
    if (!cidr) {
      if (errors->size() < kMaxErrors) {
        errors->push_back(
            {line_no, column, "\"" + std::string(prefix) + "\" is not an address or prefix"});
      }
      continue;
    }
    entry.cidr = *cidr;
    out.push_back(entry);
  }
  return out;
}

void readAcl(FileReader& file, const Field& field, AclRules& acl) {
  const MapReader map(file, field, "acl", kAclKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.find("allow")) {
    readCidrList(file, *f, acl.allow);
  }
  if (const Field* f = map.find("deny")) {
    readCidrList(file, *f, acl.deny);
  }
  auto allow = std::make_shared<net::PrefixSet>();
  auto deny = std::make_shared<net::PrefixSet>();
  for (const auto& c : acl.allow) {
    allow->add(c);
  }
  for (const auto& c : acl.deny) {
    deny->add(c);
  }
  if (const Field* f = map.find("files")) {
    for (const Field& item : listItems(file, *f, "file")) {
      auto path = readFilePath(file, item, false);
      if (!path) {
        continue;
      }
      std::ifstream in(*path, std::ios::binary);
      if (!in) {
        file.error(item.valueMark(), "acl.files: cannot read " + *path + ": " + strerror(errno));
        continue;
      }
      std::ostringstream text;
      text << in.rdbuf();
      if (text.str().size() > kMaxAclFileBytes) {
        file.error(item.valueMark(), "acl.files: " + *path + " is larger than 256MiB");
        continue;
      }
      std::vector<AclFileError> errors;
      for (const auto& e : parseAclFile(text.str(), &errors)) {
        (e.allow ? *allow : *deny).add(e.cidr);
      }
      // The file's own errors point into the file, where they are to be fixed.
      for (auto& e : errors) {
        file.diagnostics().add({*path, e.line, e.column}, std::move(e.message));
      }
      acl.files.push_back(*path);
    }
  }
  allow->seal();
  deny->seal();
  if (!allow->empty()) {
    acl.allow_set = allow;
  }
  if (!deny->empty()) {
    acl.deny_set = deny;
  }
}

}  // namespace ballast::config
