// tests/fuzz/cache_control_fuzz.cpp — libFuzzer target for the Cache-Control reader. The input
// is split on NUL into field values. Beyond "no crash": delta-seconds stay within the cap, and
// reading the fields as one joined list gives the same directives (several fields are one list).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "policy/cache_control.h"

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

constexpr uint32_t kCap = 2147483648U;

bool same(const ballast::policy::CacheDirectives& a, const ballast::policy::CacheDirectives& b) {
  return a.no_store == b.no_store && a.no_cache == b.no_cache && a.private_ == b.private_ &&
         a.no_transform == b.no_transform && a.must_revalidate == b.must_revalidate &&
         a.max_age == b.max_age && a.s_maxage == b.s_maxage &&
         a.stale_while_revalidate == b.stale_while_revalidate &&
         a.stale_if_error == b.stale_if_error;
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
  const auto d = ballast::policy::parseCacheControl(fields);
  for (const auto& v : {d.max_age, d.s_maxage, d.stale_while_revalidate, d.stale_if_error}) {
    check(!v || *v <= kCap);
  }
  // Joining is only equivalent when no field leaves a quote or an escape open.
  bool balanced = true;
  for (const auto f : fields) {
    bool quoted = false;
    for (size_t i = 0; i < f.size(); ++i) {
      if (quoted && f[i] == '\\') {
        ++i;
        if (i == f.size()) {
          quoted = true;  // a dangling escape: treat as unbalanced
          break;
        }
      } else if (f[i] == '"') {
        quoted = !quoted;
      }
    }
    balanced = balanced && !quoted;
  }
  if (balanced) {
    std::string joined;
    for (const auto f : fields) {
      joined += joined.empty() ? "" : ",";
      joined += f;
    }
    const std::vector<std::string_view> one = {joined};
    check(same(d, ballast::policy::parseCacheControl(one)));
  }
  return 0;
}
