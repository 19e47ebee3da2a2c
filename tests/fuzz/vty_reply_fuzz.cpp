// tests/fuzz/vty_reply_fuzz.cpp — libFuzzer target for the reader of FRR bgpd's vty replies
// (src/bgp/frr_config.h). Beyond "no crash": once a prefix of the bytes is a complete reply,
// more bytes do not change it, and a complete reply's text never holds the terminator.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bgp/frr_config.h"

namespace {
namespace bgp = ballast::bgp;
void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}
}  // namespace

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto whole = bgp::parseVtyReply(input);
  if (whole.complete) {
    check(whole.status >= 0 && whole.status <= UINT8_MAX);
    check(whole.ok == (whole.status == 0));
    check(whole.text.find(std::string_view("\0\0\0", 3)) == std::string::npos);
  }
  for (size_t cut = 0; cut < input.size(); ++cut) {
    const auto part = bgp::parseVtyReply(input.substr(0, cut));
    if (part.complete) {
      check(whole.complete && part.status == whole.status && part.text == whole.text);
      break;
    }
  }
  (void)bgp::isMissingNetworkReply(whole);
  return 0;
}
