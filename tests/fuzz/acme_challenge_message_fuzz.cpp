// tests/fuzz/acme_challenge_message_fuzz.cpp — libFuzzer target for the challenge answers other
// nodes publish on the ACME store's channel (anyone with access to the Redis can publish there).
// Beyond "no crash": whatever parses formats back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "acme/challenge_message.h"

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto m = ballast::acme::parseChallengeMessage(text)) {
    if (ballast::acme::formatChallengeMessage(*m) != text) {
      std::abort();
    }
  }
  return 0;
}
