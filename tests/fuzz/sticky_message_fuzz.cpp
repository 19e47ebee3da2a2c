// tests/fuzz/sticky_message_fuzz.cpp — libFuzzer target for the pin messages other nodes publish
// on the sticky store's channel (anyone with access to the Redis can publish there). Beyond "no
// crash": whatever parses formats back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy/sticky_table.h"

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto pin = ballast::policy::parsePinMessage(text);
  if (pin) {
    const auto again = ballast::policy::formatPinMessage(pin->key, pin->backend, pin->expiry_s);
    // Leading zeros in the expiry are the one spelling that does not come back the same.
    const auto reparsed = ballast::policy::parsePinMessage(again);
    if (!reparsed || reparsed->key != pin->key || reparsed->backend != pin->backend ||
        reparsed->expiry_s != pin->expiry_s) {
      std::abort();
    }
  }
  return 0;
}
