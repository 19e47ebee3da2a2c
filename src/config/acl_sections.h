// src/config/acl_sections.h — the `acl:` block of a listener or a route, and the ACL files it
// names (one entry per line).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

// One line of an ACL file that is not blank or a comment.
struct AclFileEntry {
  bool allow = false;  // `allow CIDR`; `deny CIDR` and a bare CIDR deny
  net::Cidr cidr;
};

struct AclFileError {
  int line = 0;  // 1-based
  int column = 0;
  std::string message;
};

// Parses an ACL file's text: `allow CIDR`, `deny CIDR` or `CIDR` per line, `#` starts a comment.
// Every bad line is reported (capped at kMaxErrors), the good ones kept.
std::vector<AclFileEntry> parseAclFile(std::string_view text, std::vector<AclFileError>* errors);

// Reads `acl: {allow: [CIDR…], deny: [CIDR…], files: [path…]}`, loads the files (their errors
// name the file's own line and column) and builds the lookup sets.
void readAcl(FileReader& file, const Field& field, AclRules& acl);

}  // namespace ballast::config
