// tests/fuzz/jwt_fuzz.cpp — libFuzzer target for the JWT decoder and checker (policy/jwt) and
// the JWKS reader (policy/jwks). Beyond "no crash": nothing throws (a worker would die), and a
// token verified against an empty-secret-free set built from the input never passes unsigned.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy/jwks.h"
#include "policy/jwt.h"

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  namespace policy = ballast::policy;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)policy::base64UrlDecode(text);
    (void)policy::decodeJwt(text);
    const policy::JwksParse parsed = policy::parseJwks(text);
    static const policy::JwksParse kKeys = policy::parseJwks(
        R"({"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]})");
    policy::JwtPolicy p;
    p.algorithms = 0x0f;
    const auto check = policy::verifyJwt(text, p, *kKeys.jwks, 0);
    if (check.result == policy::JwtResult::kOk && text.ends_with(".")) {
      std::abort();  // an empty signature never verifies
    }
    (void)parsed;
  } catch (...) {
    std::abort();
  }
  return 0;
}
