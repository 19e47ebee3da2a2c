// src/compress/accept_encoding.h — content negotiation on Accept-Encoding (RFC 9110 §12.5.3):
// which of the codings we offer the client ranks highest.
#pragma once

#include <span>
#include <string_view>

#include "compress/compressor.h"

namespace ballast::compress {

// Among `offered` (in our order of preference), the coding with the highest q-value in the
// client's Accept-Encoding field values (several fields are one list); ties go to our order.
// A coding the client does not name gets the q-value of its `*`, else 0; q=0 refuses. "x-gzip"
// is gzip. Malformed elements are ignored rather than failing the whole field. kNone: none
// acceptable (or no field: RFC 9110 lets us pick any, but an old client without the field is
// better served plain).
Encoding chooseEncoding(std::span<const std::string_view> fields,
                        std::span<const Encoding> offered);

}  // namespace ballast::compress
