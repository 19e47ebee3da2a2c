// tests/fuzz/proxy_protocol_fuzz.cpp — libFuzzer target for the PROXY protocol parser. Beyond
// "no crash", it checks what callers rely on: only kNeedMore/kBadInput as errors, a consumed
// length inside the input and the limit, strict prefixes of an accepted header needing more, and
// the addresses surviving a write-then-parse in the same version.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/proxy_protocol/proxy_protocol.h"

namespace {

namespace pp = ballast::proto::proxy_protocol;

bool sameAddress(const ballast::net::SocketAddress& a, const ballast::net::SocketAddress& b) {
  return a.family() == b.family() && a.port() == b.port() && a.addressBytes() == b.addressBytes();
}

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  const auto parsed = pp::parse(input);
  if (!parsed.has_value()) {
    const auto code = parsed.error().code;
    check(code == ballast::core::Errc::kNeedMore || code == ballast::core::Errc::kBadInput);
    // kNeedMore with the limit in hand would leave a caller waiting forever.
    check(code != ballast::core::Errc::kNeedMore || size < pp::kMaxHeaderBytes);
    return 0;
  }
  const pp::ProxyHeader& header = *parsed;
  check(header.header_length > 0 && header.header_length <= size &&
        header.header_length <= pp::kMaxHeaderBytes);

  // The header alone parses the same, and one byte less is only "need more".
  const auto alone = pp::parse(input.first(header.header_length));
  check(alone.has_value() && alone->header_length == header.header_length);
  const auto short_by_one = pp::parse(input.first(header.header_length - 1));
  check(!short_by_one.has_value() && short_by_one.error().code == ballast::core::Errc::kNeedMore);

  if (header.local) {
    return 0;
  }
  const bool v2 = data[0] == pp::wire::kV2Signature[0];
  std::array<uint8_t, pp::kMaxWriteBytes> out{};
  const size_t written = v2 ? pp::writeV2(header.source, header.destination, out)
                            : pp::writeV1(header.source, header.destination, out);
  const auto again = pp::parse(std::span(out).first(written));
  check(again.has_value() && !again->local && again->header_length == written);
  check(sameAddress(header.source, again->source));
  check(sameAddress(header.destination, again->destination));
  return 0;
}
