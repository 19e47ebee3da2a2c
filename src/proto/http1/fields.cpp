// src/proto/http1/fields.cpp — field-line parsing and the framing summary of fields.h.
#include "proto/http1/fields.h"

#include "proto/http1/hop_by_hop.h"
#include "proto/http1/syntax.h"

namespace ballast::proto::http1 {
namespace {

core::Error bad(std::string_view what) { return core::Error{core::Errc::kBadInput, what}; }

core::Result<core::Ok> parseFieldLine(std::string_view line, std::vector<Header>& out) {
  if (isOws(line.front())) {
    // RFC 9112 §5.2 lets a server either reject obs-fold or unfold it; unfolding would forward a
    // value the sender's other hops may read differently.
    return bad("obsolete line folding");
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return bad("field line without colon");
  }
  const std::string_view name = line.substr(0, colon);
  if (name.empty()) {
    return bad("empty field name");
  }
  if (isOws(name.back())) {
    return bad("whitespace before colon");  // RFC 9112 §5.1: MUST reject
  }
  if (!isToken(name)) {
    return bad("invalid character in field name");
  }
  const std::string_view value = trimOws(line.substr(colon + 1));
  for (const char c : value) {
    if (!isFieldValueChar(static_cast<uint8_t>(c))) {
      return bad("invalid character in field value");
    }
  }
  out.push_back(Header{name, value});
  return core::Ok{};
}

core::Result<core::Ok> addContentLength(std::string_view value, FieldSummary& summary) {
  ListCursor elements(value);
  std::string_view element;
  while (elements.next(&element)) {
    // RFC 9110 §8.6 lets a recipient fold "5, 5"; an empty element is not a value we can fold.
    const auto parsed = parseDecimal(element);
    if (!parsed.has_value()) {
      return bad("invalid Content-Length");
    }
    if (summary.has_content_length && summary.content_length != *parsed) {
      return bad("conflicting Content-Length values");
    }
    summary.has_content_length = true;
    summary.content_length = *parsed;
  }
  return core::Ok{};
}

core::Result<core::Ok> addTransferEncoding(std::string_view value, TransferCodings& codings) {
  codings.present = true;
  ListCursor elements(value);
  std::string_view element;
  while (elements.next(&element)) {
    if (element.empty()) {
      continue;
    }
    const size_t semicolon = element.find(';');
    const std::string_view coding = trimOws(element.substr(0, semicolon));
    if (!isToken(coding)) {
      return bad("invalid Transfer-Encoding");
    }
    if (equalsIgnoreCase(coding, "chunked")) {
      if (semicolon != std::string_view::npos) {
        return bad("chunked takes no parameters");
      }
      ++codings.chunked_count;
      codings.chunked_last = true;
    } else {
      codings.other = true;
      codings.chunked_last = false;
    }
  }
  return core::Ok{};
}

core::Result<core::Ok> addConnection(std::string_view value, FieldSummary& summary,
                                     size_t& options) {
  ListCursor elements(value);
  std::string_view option;
  while (elements.next(&option)) {
    // Empty elements count too: hop-by-hop marking walks them all for every field.
    if (++options > kMaxConnectionOptions) {
      return bad("too many Connection options");
    }
    if (option.empty()) {
      continue;
    }
    if (!isToken(option)) {
      return bad("invalid Connection option");
    }
    summary.connection_close |= equalsIgnoreCase(option, "close");
    summary.connection_keep_alive |= equalsIgnoreCase(option, "keep-alive");
    summary.connection_upgrade |= equalsIgnoreCase(option, "upgrade");
  }
  return core::Ok{};
}

bool listsExpectContinue(std::string_view value) {
  ListCursor elements(value);
  std::string_view element;
  while (elements.next(&element)) {
    if (equalsIgnoreCase(element, "100-continue")) {
      return true;
    }
  }
  return false;
}

}  // namespace

core::Result<core::Ok> parseFieldLines(std::string_view lines, std::vector<Header>& out) {
  for (;;) {
    const size_t end = lines.find(kCrlf);
    if (end == std::string_view::npos) {
      return bad("unterminated field line");
    }
    if (end == 0) {
      return core::Ok{};
    }
    auto parsed = parseFieldLine(lines.substr(0, end), out);
    if (!parsed.has_value()) {
      return parsed;
    }
    lines.remove_prefix(end + kCrlf.size());
  }
}

core::Result<FieldSummary> summarizeFields(std::span<Header> headers) {
  FieldSummary summary;
  size_t connection_options = 0;
  for (const Header& header : headers) {
    core::Result<core::Ok> added = core::Ok{};
    if (equalsIgnoreCase(header.name, "Content-Length")) {
      added = addContentLength(header.value, summary);
    } else if (equalsIgnoreCase(header.name, "Transfer-Encoding")) {
      added = addTransferEncoding(header.value, summary.transfer);
    } else if (equalsIgnoreCase(header.name, "Connection")) {
      added = addConnection(header.value, summary, connection_options);
    } else if (equalsIgnoreCase(header.name, "Upgrade")) {
      summary.has_upgrade |= !header.value.empty();
    } else if (equalsIgnoreCase(header.name, "Host")) {
      ++summary.host_count;
      summary.host = header.value;
    } else if (equalsIgnoreCase(header.name, "Expect")) {
      summary.expect_continue |= listsExpectContinue(header.value);
    }
    if (!added.has_value()) {
      return added.error();
    }
  }
  const TransferCodings& codings = summary.transfer;
  if (codings.present && codings.chunked_count == 0 && !codings.other) {
    return bad("empty Transfer-Encoding");
  }
  for (Header& header : headers) {
    // Without Connection options only the fixed names can be hop-by-hop: skip the list walk.
    header.hop_by_hop =
        connection_options == 0 ? isFixedHopByHop(header.name) : isHopByHop(header.name, headers);
  }
  return summary;
}

std::optional<std::string_view> findField(std::span<const Header> headers, std::string_view name) {
  for (const Header& header : headers) {
    if (equalsIgnoreCase(header.name, name)) {
      return header.value;
    }
  }
  return std::nullopt;
}

}  // namespace ballast::proto::http1
