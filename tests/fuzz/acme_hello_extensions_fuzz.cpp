// tests/fuzz/acme_hello_extensions_fuzz.cpp — libFuzzer target for the ALPN and server_name
// extension readers tls-alpn-01 runs on every ClientHello that reaches an ACME listener.
// Beyond "no crash": a server name is never longer than the input nor has an upper-case
// letter, and a protocol found is really inside the input.
//
// Input: the first byte picks the reader (even: ALPN, odd: server_name), the rest is the body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "acme/hello_extensions.h"

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
  if (size == 0) {
    return 0;
  }
  const std::span<const uint8_t> body(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
  if ((data[0] & 1U) == 0) {
    for (std::string_view protocol : {"acme-tls/1", "http/1.1", "h2"}) {
      if (ballast::acme::alpnOffers(body, protocol)) {
        check(text.find(protocol) != std::string_view::npos);
      }
    }
  } else {
    const std::string name = ballast::acme::serverNameOf(body);
    check(name.size() <= body.size());
    for (char c : name) {
      check(c < 'A' || c > 'Z');
    }
  }
  return 0;
}
