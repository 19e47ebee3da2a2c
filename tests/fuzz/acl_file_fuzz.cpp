// tests/fuzz/acl_file_fuzz.cpp — libFuzzer target for the ACL file parser. Beyond "no crash":
// every entry it keeps is a prefix that prints and parses back the same, every error has a
// position inside the input, and the prefix set built from the entries answers lookups.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/acl_sections.h"
#include "net/prefix_set.h"

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
  std::vector<ballast::config::AclFileError> errors;
  const auto entries = ballast::config::parseAclFile(text, &errors);
  int lines = 1;
  for (char c : text) {
    lines += c == '\n' ? 1 : 0;
  }
  for (const auto& e : errors) {
    check(e.line >= 1 && e.line <= lines && e.column >= 1);
  }
  ballast::net::PrefixSet set;
  for (const auto& e : entries) {
    const auto again = ballast::net::Cidr::parse(e.cidr.toString());
    check(again.has_value() && *again == e.cidr);
    set.add(e.cidr);
  }
  set.seal();
  for (const auto& e : entries) {
    const auto probe = ballast::net::SocketAddress::parse(
        e.cidr.family() == AF_INET6
            ? "[" + e.cidr.toString().substr(0, e.cidr.toString().find('/')) + "]:1"
            : e.cidr.toString().substr(0, e.cidr.toString().find('/')) + ":1");
    check(probe.has_value() && set.contains(*probe));  // a network contains its own address
  }
  return 0;
}
