// src/l7/compression.h — when the exchange core compresses a response (`compress:`), for both
// codecs: the coding is chosen from the request's Accept-Encoding, and at the response head the
// response is checked (type, size, status, Content-Encoding, no-transform) and its fields edited.
// The codec then sends the body through ex.compressor.
#pragma once

#include <span>
#include <vector>

#include "config/config_types.h"
#include "l7/exchange.h"
#include "proto/http1/message.h"

namespace ballast::l7 {

// At the request head: the coding this client would get from ex's route (the route's
// `compress`, else the listener's), or none. Cheap when compression is off.
void noteAcceptEncoding(const config::Listener& listener, Exchange& ex, const RequestView& request);

// At the response head, with the fields about to go to the client: whether the body is to be
// compressed. If so the fields are edited (Content-Encoding, Vary, a weak ETag; Content-Length
// and Accept-Ranges gone) and ex.compressor is ready, except for a HEAD answer, which gets the
// fields alone. The caller frames the body as of unknown length.
bool startCompression(const config::Listener& listener, Exchange& ex, uint16_t status,
                      const proto::http1::ResponseHead& head,
                      std::vector<proto::http1::Header>& fields);

// Feeds `in` (the end, with `finish`) to ex.compressor, handing what comes out to `sink`, and
// counts the bytes both ways for the metrics. false: the library failed or the sink refused.
bool compressBody(Exchange& ex, std::span<const uint8_t> in, bool finish,
                  const compress::Compressor::Sink& sink);

}  // namespace ballast::l7
