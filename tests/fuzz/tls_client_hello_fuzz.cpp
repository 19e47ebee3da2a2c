// tests/fuzz/tls_client_hello_fuzz.cpp — libFuzzer target for the TLS ClientHello parser. Beyond
// "no crash", it checks what the L4 session relies on: only kNeedMore/kBadInput as errors, never
// "need more" with kMaxBufferedBytes in hand, a hello's wire length inside the input, the answer
// unchanged by bytes after the hello, and every strict prefix of an accepted hello's records
// either "need more" or (for a hello cut inside its final record) the same hello.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/tls/client_hello.h"

namespace {

namespace tls = ballast::proto::tls;
using ballast::core::Errc;

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
  const auto parsed = tls::parseClientHello(input);
  if (!parsed.has_value()) {
    const auto code = parsed.error().code;
    check(code == Errc::kNeedMore || code == Errc::kBadInput);
    // kNeedMore with the cap in hand would leave a session waiting for its timeout.
    check(code != Errc::kNeedMore || size < tls::kMaxBufferedBytes);
    return 0;
  }
  const tls::ClientHello& hello = *parsed;
  check(hello.wire_bytes > tls::kRecordHeaderBytes && hello.wire_bytes <= size);
  check(hello.server_name.size() <= tls::kMaxServerNameBytes);
  check(hello.server_name.empty() || hello.server_name.back() != '.');

  // The records up to the hello alone give the same answer.
  const auto alone = tls::parseClientHello(input.first(hello.wire_bytes));
  check(alone.has_value() && alone->server_name == hello.server_name && alone->alpn == hello.alpn &&
        alone->wire_bytes == hello.wire_bytes);
  // With a byte less, the hello is either still complete (it ended inside its last record,
  // before the record did) or incomplete — never malformed.
  const auto short_by_one = tls::parseClientHello(input.first(hello.wire_bytes - 1));
  if (short_by_one.has_value()) {
    check(short_by_one->server_name == hello.server_name);
  } else {
    check(short_by_one.error().code == Errc::kNeedMore);
  }
  return 0;
}
