// src/proto/tls/client_hello.cpp — the ClientHello parser: walks the record layer (a hello may
// be fragmented over several records and arrive over several reads), then the hello's body and
// the two extensions we route on. Every length is checked against what it sits in.
#include "proto/tls/client_hello.h"

#include <array>
#include <limits>
#include <string_view>

namespace ballast::proto::tls {
namespace {

constexpr unsigned kBitsPerByte = 8;
constexpr uint8_t kSslv2HeaderBit = 0x80;  // SSLv2's 2-byte record header sets the top bit
constexpr size_t kUnknown = std::numeric_limits<size_t>::max();

core::Error needMore() { return {core::Errc::kNeedMore, "ClientHello incomplete"}; }
core::Error bad(std::string_view why) { return {core::Errc::kBadInput, why}; }

// Bounds-checked reads over the hello's body; a failed read leaves the reader failed.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}

  bool u8(uint8_t& v) {
    if (!has(1)) {
      return false;
    }
    v = in_[pos_++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (!has(2)) {
      return false;
    }
    v = static_cast<uint16_t>((in_[pos_] << kBitsPerByte) | in_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool bytes(size_t n, std::span<const uint8_t>& out) {
    if (!has(n)) {
      return false;
    }
    out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  // A vector with a one- or two-byte length prefix (RFC 8446 §3.4).
  bool vec8(std::span<const uint8_t>& out) {
    uint8_t n = 0;
    return u8(n) && bytes(n, out);
  }
  bool vec16(std::span<const uint8_t>& out) {
    uint16_t n = 0;
    return u16(n) && bytes(n, out);
  }
  bool empty() const { return pos_ == in_.size(); }

 private:
  bool has(size_t n) const { return in_.size() - pos_ >= n; }

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

bool isHostNameChar(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// RFC 6066 §3: a list of names, at most one per type; only host_name is defined. The name is
// ASCII without a trailing dot; one is tolerated (and dropped), as browsers never send it but
// hand-written clients do. Anything that could not be a DNS name is refused, which also keeps
// control bytes out of log lines.
core::Result<core::Ok> parseServerName(std::span<const uint8_t> data, ClientHello& out) {
  Reader r(data);
  std::span<const uint8_t> list;
  if (!r.vec16(list) || !r.empty()) {
    return bad("bad server_name extension length");
  }
  if (list.empty()) {
    return bad("empty server_name list");
  }
  Reader names(list);
  bool have_host = false;
  while (!names.empty()) {
    uint8_t type = 0;
    std::span<const uint8_t> name;
    if (!names.u8(type) || !names.vec16(name)) {
      return bad("truncated server_name entry");
    }
    if (type != wire::kNameTypeHostName) {
      continue;  // unknown name types are skipped (RFC 6066 §3)
    }
    if (have_host) {
      return bad("more than one host_name in server_name");
    }
    have_host = true;
    std::string_view host(reinterpret_cast<const char*>(name.data()), name.size());
    if (host.ends_with('.')) {
      host.remove_suffix(1);
    }
    if (host.empty()) {
      return bad("empty server name");
    }
    if (host.ends_with('.')) {
      return bad("server name has an empty label");  // "a.example.." (the fuzzer found it)
    }
    if (host.size() > kMaxServerNameBytes) {
      return bad("server name longer than 253 bytes");
    }
    for (size_t i = 0; i < host.size(); ++i) {
      const auto c = static_cast<uint8_t>(host[i]);
      if (!isHostNameChar(c)) {
        return bad("server name has a byte a DNS name cannot have");
      }
      if (c == '.' && (i == 0 || host[i - 1] == '.')) {
        return bad("server name has an empty label");
      }
    }
    out.server_name.assign(host);
  }
  return core::Ok{};
}

// RFC 7301 §3.1: a non-empty list of non-empty protocol names.
core::Result<core::Ok> parseAlpn(std::span<const uint8_t> data, ClientHello& out) {
  Reader r(data);
  std::span<const uint8_t> list;
  if (!r.vec16(list) || !r.empty()) {
    return bad("bad ALPN extension length");
  }
  if (list.empty()) {
    return bad("empty ALPN list");
  }
  Reader protocols(list);
  while (!protocols.empty()) {
    std::span<const uint8_t> name;
    if (!protocols.vec8(name)) {
      return bad("truncated ALPN protocol");
    }
    if (name.empty()) {
      return bad("empty ALPN protocol name");
    }
    out.alpn.emplace_back(reinterpret_cast<const char*>(name.data()), name.size());
  }
  return core::Ok{};
}

// The ClientHello body (RFC 8446 §4.1.2; TLS 1.0-1.2 have the same layout, extensions optional).
core::Result<core::Ok> parseBody(std::span<const uint8_t> body, ClientHello& out) {
  Reader r(body);
  std::span<const uint8_t> field;
  if (!r.u16(out.legacy_version) || !r.bytes(wire::kRandomBytes, field)) {
    return bad("truncated ClientHello");
  }
  if ((out.legacy_version >> kBitsPerByte) != wire::kMajorVersion) {
    return bad("unsupported ClientHello version");
  }
  if (!r.vec8(field)) {
    return bad("truncated session id");
  }
  if (field.size() > wire::kMaxSessionIdBytes) {
    return bad("session id longer than 32 bytes");
  }
  if (!r.vec16(field)) {
    return bad("truncated cipher suites");
  }
  if (field.empty() || field.size() % 2 != 0) {
    return bad("bad cipher suite list");
  }
  if (!r.vec8(field)) {
    return bad("truncated compression methods");
  }
  if (field.empty()) {
    return bad("empty compression method list");
  }
  if (r.empty()) {
    return core::Ok{};  // SSL 3.0 / early TLS: no extensions at all
  }
  std::span<const uint8_t> extensions;
  if (!r.vec16(extensions)) {
    return bad("truncated extensions");
  }
  if (!r.empty()) {
    return bad("bytes after the extensions");
  }
  Reader ext(extensions);
  bool seen_sni = false;
  bool seen_alpn = false;
  while (!ext.empty()) {
    uint16_t type = 0;
    std::span<const uint8_t> data;
    if (!ext.u16(type) || !ext.vec16(data)) {
      return bad("truncated extension");
    }
    if (type == wire::kExtServerName) {
      if (seen_sni) {
        return bad("duplicate server_name extension");
      }
      seen_sni = true;
      if (auto ok = parseServerName(data, out); !ok) {
        return ok.error();
      }
    } else if (type == wire::kExtAlpn) {
      if (seen_alpn) {
        return bad("duplicate ALPN extension");
      }
      seen_alpn = true;
      if (auto ok = parseAlpn(data, out); !ok) {
        return ok.error();
      }
    }
  }
  return core::Ok{};
}

// Checks the part of a record header that has arrived; the first record may not be anything but
// a TLS handshake record, and later ones continue the hello (RFC 8446 §5.1: handshake messages
// are not interleaved with other record types).
core::Result<core::Ok> checkRecordHeader(std::span<const uint8_t> header, size_t record) {
  if (header.empty()) {
    return core::Ok{};
  }
  if (header[0] != wire::kContentHandshake) {
    if (record > 0) {
      return bad("ClientHello interleaved with another record type");
    }
    if ((header[0] & kSslv2HeaderBit) != 0) {
      return bad("SSLv2-style ClientHello");
    }
    return bad("not a TLS handshake record");
  }
  if (header.size() > 1 && header[1] != wire::kMajorVersion) {
    return bad("unsupported record version");
  }
  if (header.size() > 2 && header[2] > wire::kMaxMinorVersion) {
    return bad("unsupported record version");
  }
  return core::Ok{};
}

}  // namespace

core::Result<ClientHello> parseClientHello(std::span<const uint8_t> input) {
  // Handshake bytes are gathered from each record's fragment; most hellos sit in one.
  std::array<std::span<const uint8_t>, kMaxHelloRecords> fragments{};
  size_t records = 0;
  size_t have = 0;         // handshake bytes received
  size_t need = kUnknown;  // handshake header + body, once the header is in
  size_t pos = 0;
  const auto handshake_byte = [&](size_t i) {
    for (size_t f = 0; f < records; ++f) {
      if (i < fragments[f].size()) {
        return fragments[f][i];
      }
      i -= fragments[f].size();
    }
    return uint8_t{0};  // unreachable: callers ask only for bytes they counted
  };
  while (true) {
    if (records == kMaxHelloRecords) {
      return bad("ClientHello fragmented over too many records");
    }
    const auto header = input.subspan(pos, std::min(kRecordHeaderBytes, input.size() - pos));
    if (auto ok = checkRecordHeader(header, records); !ok) {
      return ok.error();
    }
    if (header.size() < kRecordHeaderBytes) {
      return needMore();
    }
    const size_t length = (size_t{header[3]} << kBitsPerByte) | header[4];
    if (length == 0) {
      return bad("empty handshake record");
    }
    if (length > kMaxRecordPayloadBytes) {
      return bad("record longer than 2^14 bytes");
    }
    const size_t start = pos + kRecordHeaderBytes;
    const size_t avail = std::min(length, input.size() - start);
    fragments[records++] = input.subspan(start, avail);
    have += avail;
    if (need == kUnknown && have >= kHandshakeHeaderBytes) {
      if (handshake_byte(0) != wire::kHandshakeClientHello) {
        return bad("first handshake message is not a ClientHello");
      }
      const size_t body = (size_t{handshake_byte(1)} << (2 * kBitsPerByte)) |
                          (size_t{handshake_byte(2)} << kBitsPerByte) | handshake_byte(3);
      if (body > kMaxClientHelloBytes) {
        return bad("ClientHello larger than 16 KiB");
      }
      need = kHandshakeHeaderBytes + body;
    }
    if (need != kUnknown && have >= need) {
      ClientHello out;
      out.wire_bytes = start + avail;
      std::vector<uint8_t> joined;
      std::span<const uint8_t> message = fragments[0];
      if (fragments[0].size() < need) {
        joined.reserve(need);
        for (size_t f = 0; f < records; ++f) {
          joined.insert(joined.end(), fragments[f].begin(), fragments[f].end());
        }
        message = joined;
      }
      if (auto ok =
              parseBody(message.subspan(kHandshakeHeaderBytes, need - kHandshakeHeaderBytes), out);
          !ok) {
        return ok.error();
      }
      return out;
    }
    if (avail < length) {
      return needMore();
    }
    pos = start + length;
  }
}

}  // namespace ballast::proto::tls
