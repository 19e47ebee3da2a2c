// tests/fuzz/accept_encoding_fuzz.cpp — libFuzzer target for Accept-Encoding negotiation. The
// input is split on NUL into field values. Beyond "no crash": the choice is one we offer or
// none, and the order of the offer only matters on ties, so offering a single coding picks it
// exactly when the full offer could have picked it at q > 0.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "compress/accept_encoding.h"

namespace {

using ballast::compress::Encoding;

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> fields;
  while (!rest.empty() && fields.size() < 8) {
    const size_t nul = rest.find('\0');
    fields.push_back(rest.substr(0, nul));
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }
  constexpr std::array kAll = {Encoding::kZstd, Encoding::kBrotli, Encoding::kGzip};
  const Encoding chosen = ballast::compress::chooseEncoding(fields, kAll);
  if (chosen != Encoding::kNone) {
    // The chosen coding is acceptable on its own.
    const std::array alone = {chosen};
    check(ballast::compress::chooseEncoding(fields, alone) == chosen);
  } else {
    for (const Encoding e : kAll) {
      const std::array alone = {e};
      check(ballast::compress::chooseEncoding(fields, alone) == Encoding::kNone);
    }
  }
  return 0;
}
