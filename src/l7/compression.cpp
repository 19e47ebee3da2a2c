// src/l7/compression.cpp — the compression decision and the response-field edits it implies.
#include "l7/compression.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "compress/accept_encoding.h"
#include "core/log.h"
#include "policy/cache_control.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

namespace h1 = proto::http1;

constexpr size_t kMaxFieldsRead = 8;  // Accept-Encoding or Cache-Control fields looked at
constexpr uint16_t kNoContent = 204;
constexpr uint16_t kPartialContent = 206;
constexpr uint16_t kFirstFinal = 200;
constexpr uint16_t kFirstRedirect = 300;

const config::CompressPolicy* policyFor(const config::Listener& listener, const Exchange& ex) {
  const config::CompressPolicy* p = &listener.http.compress;
  if (ex.route_config != nullptr && ex.route_config->compress) {
    p = &*ex.route_config->compress;
  }
  return p->enabled ? p : nullptr;
}

// The media type of a Content-Type value, without parameters: "text/html".
std::string_view mediaType(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
    value.remove_suffix(1);
  }
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  return value;
}

bool typeListed(const config::CompressPolicy& p, std::string_view type) {
  return std::any_of(p.types.begin(), p.types.end(), [type](const std::string& t) {
    if (t.ends_with("/*")) {
      return type.size() > t.size() - 1 &&
             h1::equalsIgnoreCase(type.substr(0, t.size() - 1),
                                  std::string_view(t).substr(0, t.size() - 1));
    }
    return h1::equalsIgnoreCase(type, t);
  });
}

}  // namespace

void noteAcceptEncoding(const config::Listener& listener, Exchange& ex,
                        const RequestView& request) {
  const config::CompressPolicy* p = policyFor(listener, ex);
  if (p == nullptr) {
    return;
  }
  std::array<std::string_view, kMaxFieldsRead> fields{};
  size_t n = 0;
  for (const auto& h : request.headers) {
    if (n < fields.size() && h1::equalsIgnoreCase(h.name, "accept-encoding")) {
      fields[n++] = h.value;
    }
  }
  ex.accept_encoding = compress::chooseEncoding(std::span(fields.data(), n), p->algorithms);
}

bool startCompression(const config::Listener& listener, Exchange& ex, uint16_t status,
                      const h1::ResponseHead& head, std::vector<h1::Header>& fields) {
  if (ex.accept_encoding == compress::Encoding::kNone || status < kFirstFinal ||
      status >= kFirstRedirect || status == kNoContent || status == kPartialContent) {
    return false;
  }
  const config::CompressPolicy* p = policyFor(listener, ex);
  if (p == nullptr) {
    return false;
  }
  const bool head_request = ex.method == "HEAD";
  if (head.body == h1::BodyKind::kNone && !head_request) {
    return false;  // nothing to compress
  }
  const bool length_known =
      head.body == h1::BodyKind::kLength || (head_request && head.has_content_length);
  if (length_known && head.content_length < p->min_size) {
    return false;
  }
  std::array<std::string_view, kMaxFieldsRead> cache_control{};
  size_t n_cc = 0;
  bool typed = false;
  for (const auto& f : fields) {
    if (h1::equalsIgnoreCase(f.name, "content-encoding")) {
      if (!h1::equalsIgnoreCase(f.value, "identity")) {
        return false;  // already encoded: never twice
      }
    } else if (h1::equalsIgnoreCase(f.name, "content-range")) {
      return false;
    } else if (h1::equalsIgnoreCase(f.name, "content-type")) {
      typed = typeListed(*p, mediaType(f.value));
    } else if (h1::equalsIgnoreCase(f.name, "cache-control") && n_cc < cache_control.size()) {
      cache_control[n_cc++] = f.value;
    }
  }
  if (!typed || policy::parseCacheControl(std::span(cache_control.data(), n_cc)).no_transform) {
    return false;
  }
  if (!head_request) {
    const auto level = p->level[static_cast<size_t>(ex.accept_encoding)];
    ex.compressor = compress::makeCompressor(ex.accept_encoding, level);
    if (!ex.compressor) {
      core::LogLine(core::LogLevel::kWarn, "l7.compress_failed", core::LogRepeat::kLimited)
          .str("encoding", compress::encodingName(ex.accept_encoding));
      return false;  // sent as it is: the client accepts identity too
    }
  }
  // The representation changes: its length is unknown, its strong validator no longer holds
  // (RFC 9110 §8.8.1: weak), and a range of it would not be a range of the original.
  std::erase_if(fields, [](const h1::Header& f) {
    return h1::equalsIgnoreCase(f.name, "content-length") ||
           h1::equalsIgnoreCase(f.name, "accept-ranges") ||
           h1::equalsIgnoreCase(f.name, "content-encoding");
  });
  for (auto& f : fields) {
    if (h1::equalsIgnoreCase(f.name, "etag") && f.value.starts_with('"')) {
      ex.weak_etag.assign("W/");
      ex.weak_etag.append(f.value);
      f.value = ex.weak_etag;
    }
  }
  fields.push_back({"Content-Encoding", compress::encodingName(ex.accept_encoding)});
  fields.push_back({"Vary", "Accept-Encoding"});
  return true;
}

bool compressBody(Exchange& ex, std::span<const uint8_t> in, bool finish,
                  const compress::Compressor::Sink& sink) {
  ex.compress_in += in.size();
  return ex.compressor->write(in, finish, [&ex, &sink](std::span<const uint8_t> out) {
    ex.compress_out += out.size();
    return sink(out);
  });
}

}  // namespace ballast::l7
