// tests/fuzz/http_date_fuzz.cpp — libFuzzer target for the HTTP-date reader. Beyond "no crash":
// whatever it accepts formats to an IMF-fixdate that reads back to the same instant.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/http_date.h"

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto t = ballast::policy::parseHttpDate(text);
  if (t) {
    std::string again;
    ballast::policy::formatHttpDate(*t, again);
    if (ballast::policy::parseHttpDate(again) != t) {
      std::abort();
    }
  }
  return 0;
}
