// src/policy/http_date.h — HTTP-date (RFC 9110 §5.6.7): the preferred IMF-fixdate and the two
// obsolete forms a recipient must still accept (RFC 850 and asctime), as Unix seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ballast::policy {

// nullopt for anything that is not one of the three forms (an invalid Expires means "already
// expired" to the caller, RFC 9111 §5.3).
std::optional<int64_t> parseHttpDate(std::string_view text);

// Appends `unix_s` as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
void formatHttpDate(int64_t unix_s, std::string& out);

}  // namespace ballast::policy
