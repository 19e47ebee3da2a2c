// tests/unit/proto/tls/client_hello_test.cpp — the ClientHello parser on real hellos captured
// from OpenSSL clients, the same hellos arriving byte by byte and re-fragmented over many
// records, and every malformed shape we refuse.
#include "proto/tls/client_hello.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace ballast::proto::tls {
namespace {

using Bytes = std::vector<uint8_t>;
using core::Errc;

// Captured when this test was written (see the comment on each); random, session id and key
// shares differ on every run, the layout does not.
// python3 ssl (OpenSSL 3.0.19), TLS 1.3, server_hostname="a.example.test", ALPN h2, http/1.1.
constexpr std::string_view kPythonTls13Hex =
    "1603010200010001fc0303773f6863bc07c9c3afc3b0bfb6ffa1e5790bb7c2631fb2d500d9c5321769e96e2018db4a"
    "f4"
    "7327c5a4c2ac2d59b7180746b8abb642ccb5ed44d2b1b6afe8a96f9e0024130213031301c02cc030c02bc02fcca9cc"
    "a8"
    "c024c028c023c027009f009e006b006700ff0100018f00000013001100000e612e6578616d706c652e74657374000b"
    "00"
    "0403000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c026832086874"
    "74"
    "702f312e310016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601"
    "03"
    "0303010302040205020602002b00050403040303002d00020101003300260024001d002037a816bc271c4b0fc9aedd"
    "0e"
    "6453caa095b41db9412dadfd701e40e04f017a44001500cd0000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00"
    "00000000000000000000000000000000000000000000000000000000000000000000000000";
// python3 ssl (OpenSSL 3.0.19), maximum_version TLS 1.2, no server_hostname: no SNI, no ALPN.
constexpr std::string_view kPythonTls12NoSniHex =
    "160301009d010000990303e71778b49b2498a45fdabeaf77cedae310d8804ded0f81e4053dcfffc6d1d38600001ec0"
    "2c"
    "c030c02bc02fcca9cca8c024c028c023c027009f009e006b006700ff01000052000b000403000102000a000c000a00"
    "1d"
    "0017001e00190018002300000016000000170000000d002a0028040305030603080708080809080a080b0804080508"
    "06"
    "040105010601030303010302040205020602";
// openssl s_client 3.0.19 -servername WWW.Example.Test -alpn h2.
constexpr std::string_view kOpensslSClientHex =
    "1603010146010001420303d88a217640a9a6a56c42c928e2bfccee3e43e4a1a63d8c25e38f6fc83da72b5d20c6ab0d"
    "86"
    "febda5f6c3b016d24bd0ada27598118a0513b48c9317eebd37864240003e130213031301c02cc030009fcca9cca8cc"
    "aa"
    "c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010000"
    "bb"
    "0000001500130000105757572e4578616d706c652e54657374000b000403000102000a00160014001d0017001e0019"
    "00"
    "1801000101010201030104002300000010000500030268320016000000170000000d002a0028040305030603080708"
    "08"
    "0809080a080b080408050806040105010601030303010302040205020602002b0009080304030303020301002d0002"
    "01"
    "01003300260024001d00202d1d969902c7bb69e6bc3439a3101e70008b9f6bcbdb5672ce4953ff33363e50";

constexpr unsigned kByteBits = 8;
constexpr int kHexBase = 16;
constexpr uint16_t kTls12 = 0x0303;
constexpr uint16_t kTls10 = 0x0301;
constexpr uint16_t kCipherAes128GcmSha256 = 0x1301;
constexpr uint16_t kExtPadding = 21;
constexpr uint8_t kContentAlert = 21;
constexpr uint8_t kContentChangeCipherSpec = 20;
constexpr uint8_t kHandshakeServerHello = 2;

Bytes fromHex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(
        static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, kHexBase)));
  }
  return out;
}

void put16(Bytes& b, size_t v) {
  b.push_back(static_cast<uint8_t>(v >> kByteBits));
  b.push_back(static_cast<uint8_t>(v));
}

void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

Bytes record(const Bytes& payload, uint8_t type = wire::kContentHandshake,
             uint16_t version = kTls10) {
  Bytes r = {type};
  put16(r, version);
  put16(r, payload.size());
  append(r, payload);
  return r;
}

Bytes handshake(const Bytes& body, uint8_t type = wire::kHandshakeClientHello) {
  Bytes h = {type, static_cast<uint8_t>(body.size() >> (2 * kByteBits)),
             static_cast<uint8_t>(body.size() >> kByteBits), static_cast<uint8_t>(body.size())};
  append(h, body);
  return h;
}

Bytes extension(uint16_t type, const Bytes& data) {
  Bytes e;
  put16(e, type);
  put16(e, data.size());
  append(e, data);
  return e;
}

// server_name with the given (type, name) entries.
Bytes sniData(std::initializer_list<std::pair<uint8_t, std::string_view>> names) {
  Bytes list;
  for (const auto& [type, name] : names) {
    list.push_back(type);
    put16(list, name.size());
    list.insert(list.end(), name.begin(), name.end());
  }
  Bytes data;
  put16(data, list.size());
  append(data, list);
  return data;
}

Bytes sniExt(std::string_view name) {
  return extension(wire::kExtServerName, sniData({{wire::kNameTypeHostName, name}}));
}

Bytes alpnExt(std::initializer_list<std::string_view> protocols) {
  Bytes list;
  for (const auto p : protocols) {
    list.push_back(static_cast<uint8_t>(p.size()));
    list.insert(list.end(), p.begin(), p.end());
  }
  Bytes data;
  put16(data, list.size());
  append(data, list);
  return extension(wire::kExtAlpn, data);
}

// A minimal TLS 1.2-style hello body with the given extensions block (omitted when null).
Bytes helloBody(const Bytes* extensions) {
  Bytes b;
  put16(b, kTls12);
  b.resize(b.size() + wire::kRandomBytes);
  b.push_back(0);  // no session id
  put16(b, 2);
  put16(b, kCipherAes128GcmSha256);
  b.push_back(1);  // one compression method: null
  b.push_back(0);
  if (extensions != nullptr) {
    put16(b, extensions->size());
    append(b, *extensions);
  }
  return b;
}

Bytes helloWith(const Bytes& extensions) { return record(handshake(helloBody(&extensions))); }

// The handshake bytes of a one-record hello, cut into records of `size` bytes.
Bytes refragment(const Bytes& one_record, size_t size) {
  const Bytes message(one_record.begin() + kRecordHeaderBytes, one_record.end());
  Bytes out;
  for (size_t i = 0; i < message.size(); i += size) {
    const size_t n = std::min(size, message.size() - i);
    append(out, record(Bytes(message.begin() + static_cast<std::ptrdiff_t>(i),
                             message.begin() + static_cast<std::ptrdiff_t>(i + n))));
  }
  return out;
}

std::string_view errorOf(const Bytes& input) {
  const auto parsed = parseClientHello(input);
  EXPECT_FALSE(parsed.has_value());
  if (parsed.has_value()) {
    return "";
  }
  EXPECT_EQ(parsed.error().code, Errc::kBadInput) << parsed.error().what;
  return parsed.error().what;
}

// Every strict prefix is "need more": what the parser sees when a hello arrives one byte per
// TCP segment and is handed the bytes received so far each time.
void expectEveryPrefixNeedsMore(const Bytes& input, size_t complete_at) {
  for (size_t n = 0; n < complete_at; ++n) {
    const auto parsed = parseClientHello(std::span(input).first(n));
    ASSERT_FALSE(parsed.has_value()) << "prefix " << n;
    ASSERT_EQ(parsed.error().code, Errc::kNeedMore)
        << "prefix " << n << ": " << parsed.error().what;
  }
}

TEST(ClientHello, PythonTls13HelloWithSniAndAlpn) {
  const Bytes input = fromHex(kPythonTls13Hex);
  const auto hello = parseClientHello(input);
  ASSERT_TRUE(hello.has_value()) << hello.error().what;
  EXPECT_EQ(hello->server_name, "a.example.test");
  EXPECT_EQ(hello->alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(hello->legacy_version, kTls12);  // TLS 1.3 says so in supported_versions
  EXPECT_EQ(hello->wire_bytes, input.size());
}

TEST(ClientHello, PythonTls12HelloWithoutSni) {
  const Bytes input = fromHex(kPythonTls12NoSniHex);
  const auto hello = parseClientHello(input);
  ASSERT_TRUE(hello.has_value()) << hello.error().what;
  EXPECT_EQ(hello->server_name, "");
  EXPECT_TRUE(hello->alpn.empty());
  EXPECT_EQ(hello->wire_bytes, input.size());
}

TEST(ClientHello, OpensslSClientKeepsTheCaseItWasGiven) {
  const auto hello = parseClientHello(fromHex(kOpensslSClientHex));
  ASSERT_TRUE(hello.has_value()) << hello.error().what;
  EXPECT_EQ(hello->server_name, "WWW.Example.Test");
  EXPECT_EQ(hello->alpn, (std::vector<std::string>{"h2"}));
}

TEST(ClientHello, ByteByByteNeedsMoreUntilTheLastByte) {
  for (const auto hex : {kPythonTls13Hex, kPythonTls12NoSniHex, kOpensslSClientHex}) {
    const Bytes input = fromHex(hex);
    expectEveryPrefixNeedsMore(input, input.size());
  }
}

TEST(ClientHello, FragmentedOverRecordsGivesTheSameHello) {
  const Bytes one = fromHex(kPythonTls13Hex);
  for (const size_t size : {1UL, 3UL, 7UL, 100UL, 511UL}) {
    const Bytes many = refragment(one, size);
    if ((one.size() - kRecordHeaderBytes + size - 1) / size > kMaxHelloRecords) {
      EXPECT_EQ(errorOf(many), "ClientHello fragmented over too many records") << size;
      continue;
    }
    const auto hello = parseClientHello(many);
    ASSERT_TRUE(hello.has_value()) << size << ": " << hello.error().what;
    EXPECT_EQ(hello->server_name, "a.example.test");
    EXPECT_EQ(hello->alpn, (std::vector<std::string>{"h2", "http/1.1"}));
    EXPECT_EQ(hello->wire_bytes, many.size());
    expectEveryPrefixNeedsMore(many, many.size());
  }
}

TEST(ClientHello, BytesAfterTheHelloAreLeftAlone) {
  Bytes input = fromHex(kPythonTls13Hex);
  const size_t hello_bytes = input.size();
  append(input, record({1}, kContentChangeCipherSpec, kTls12));
  const auto hello = parseClientHello(input);
  ASSERT_TRUE(hello.has_value()) << hello.error().what;
  EXPECT_EQ(hello->wire_bytes, hello_bytes);
}

TEST(ClientHello, NotTls) {
  const std::string_view get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(errorOf(Bytes(get.begin(), get.end())), "not a TLS handshake record");
  // Decided on the first byte: nobody waits for more of a plain-text request.
  EXPECT_EQ(errorOf(Bytes{'G'}), "not a TLS handshake record");
  EXPECT_EQ(errorOf(record({2, 40}, kContentAlert)), "not a TLS handshake record");
}

TEST(ClientHello, Sslv2StyleHelloIsRefused) {
  // SSLv2 record header (top bit set, 15-bit length), MSG-CLIENT-HELLO, version 3.1.
  EXPECT_EQ(errorOf(Bytes{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15}), "SSLv2-style ClientHello");
}

TEST(ClientHello, RecordHeaderChecks) {
  EXPECT_EQ(errorOf(Bytes{wire::kContentHandshake, 2}), "unsupported record version");
  EXPECT_EQ(errorOf(Bytes{wire::kContentHandshake, 3, 5}), "unsupported record version");
  EXPECT_EQ(errorOf(Bytes{wire::kContentHandshake, 3, 1, 0, 0}), "empty handshake record");
  EXPECT_EQ(errorOf(Bytes{wire::kContentHandshake, 3, 1, 0x40, 0x01}),
            "record longer than 2^14 bytes");
}

TEST(ClientHello, FirstMessageMustBeAClientHello) {
  const Bytes ext;
  EXPECT_EQ(errorOf(record(handshake(helloBody(&ext), kHandshakeServerHello))),
            "first handshake message is not a ClientHello");
}

TEST(ClientHello, TooLargeIsRefusedFromItsHeader) {
  // Only the record and handshake headers: the declared size alone decides.
  const Bytes input = {wire::kContentHandshake,     3, 1,    0,   4,
                       wire::kHandshakeClientHello, 0, 0x40, 0x01};
  EXPECT_EQ(errorOf(input), "ClientHello larger than 16 KiB");
}

TEST(ClientHello, LargestAcceptedHelloOverManyRecords) {
  // Pad to exactly kMaxClientHelloBytes of body, fragmented over kMaxHelloRecords records.
  const Bytes sni = sniExt("big.example.test");
  const size_t base = helloBody(&sni).size() + 2 * sizeof(uint16_t);  // + padding ext header
  Bytes ext = sni;
  append(ext, extension(kExtPadding, Bytes(kMaxClientHelloBytes - base, 0)));
  const Bytes one = record(handshake(helloBody(&ext)), wire::kContentHandshake, kTls10);
  ASSERT_EQ(one.size() - kRecordHeaderBytes, kHandshakeHeaderBytes + kMaxClientHelloBytes);
  const size_t per_record =
      (one.size() - kRecordHeaderBytes + kMaxHelloRecords - 1) / kMaxHelloRecords;
  const Bytes many = refragment(one, per_record);
  EXPECT_LE(many.size(), kMaxBufferedBytes);
  const auto hello = parseClientHello(many);
  ASSERT_TRUE(hello.has_value()) << hello.error().what;
  EXPECT_EQ(hello->server_name, "big.example.test");
}

TEST(ClientHello, TooManyRecords) {
  const Bytes one = helloWith(sniExt("a.example.test"));
  EXPECT_EQ(errorOf(refragment(one, 1)), "ClientHello fragmented over too many records");
}

TEST(ClientHello, InterleavedRecordIsRefused) {
  const Bytes one = helloWith(sniExt("a.example.test"));
  const size_t half = (one.size() - kRecordHeaderBytes) / 2;
  Bytes input = record(Bytes(one.begin() + kRecordHeaderBytes,
                             one.begin() + static_cast<std::ptrdiff_t>(kRecordHeaderBytes + half)));
  append(input, record({1}, kContentChangeCipherSpec));
  EXPECT_EQ(errorOf(input), "ClientHello interleaved with another record type");
}

TEST(ClientHello, HelloWithoutExtensions) {
  const auto hello = parseClientHello(record(handshake(helloBody(nullptr))));
  ASSERT_TRUE(hello.has_value()) << hello.error().what;
  EXPECT_EQ(hello->server_name, "");
}

TEST(ClientHello, BodyShapes) {
  Bytes body = helloBody(nullptr);
  body[0] = 2;  // version 2.x
  EXPECT_EQ(errorOf(record(handshake(body))), "unsupported ClientHello version");
  EXPECT_EQ(errorOf(record(handshake(Bytes{3, 3, 0}))), "truncated ClientHello");
  body = helloBody(nullptr);
  body[2 + wire::kRandomBytes] = wire::kMaxSessionIdBytes + 1;
  body.insert(body.begin() + 3 + wire::kRandomBytes, wire::kMaxSessionIdBytes + 1, 0);
  EXPECT_EQ(errorOf(record(handshake(body))), "session id longer than 32 bytes");
  body = helloBody(nullptr);
  body.push_back(0);  // one byte where an extensions block would start
  EXPECT_EQ(errorOf(record(handshake(body))), "truncated extensions");
  const Bytes ext = sniExt("a.example.test");
  body = helloBody(&ext);
  body.push_back(0);
  EXPECT_EQ(errorOf(record(handshake(body))), "bytes after the extensions");
  Bytes cut = ext;
  cut.pop_back();  // the block's length is right, the extension's own runs past it
  EXPECT_EQ(errorOf(helloWith(cut)), "truncated extension");
}

TEST(ClientHello, ServerNameShapes) {
  const auto withSni = [](const Bytes& data) {
    return helloWith(extension(wire::kExtServerName, data));
  };
  EXPECT_EQ(errorOf(withSni({0, 0})), "empty server_name list");
  EXPECT_EQ(errorOf(withSni({0, 5, 0})), "bad server_name extension length");
  EXPECT_EQ(errorOf(withSni(sniData({{0, "a.test"}, {0, "b.test"}}))),
            "more than one host_name in server_name");
  EXPECT_EQ(errorOf(withSni(sniData({{0, ""}}))), "empty server name");
  EXPECT_EQ(errorOf(withSni(sniData({{0, "."}}))), "empty server name");
  EXPECT_EQ(errorOf(withSni(sniData({{0, std::string_view("a\0b", 3)}}))),
            "server name has a byte a DNS name cannot have");
  EXPECT_EQ(errorOf(withSni(sniData({{0, "a b.test"}}))),
            "server name has a byte a DNS name cannot have");
  EXPECT_EQ(errorOf(withSni(sniData({{0, "a..test"}}))), "server name has an empty label");
  EXPECT_EQ(errorOf(withSni(sniData({{0, ".a.test"}}))), "server name has an empty label");
  EXPECT_EQ(errorOf(withSni(sniData({{0, "a.test.."}}))), "server name has an empty label");
  const std::string long_name(kMaxServerNameBytes + 1, 'a');
  EXPECT_EQ(errorOf(withSni(sniData({{0, long_name}}))), "server name longer than 253 bytes");
  Bytes twice = sniExt("a.test");
  append(twice, sniExt("b.test"));
  EXPECT_EQ(errorOf(helloWith(twice)), "duplicate server_name extension");

  // One trailing dot is dropped; unknown name types are skipped.
  auto hello = parseClientHello(helloWith(sniExt("a.example.test.")));
  ASSERT_TRUE(hello.has_value()) << hello.error().what;
  EXPECT_EQ(hello->server_name, "a.example.test");
  hello = parseClientHello(withSni(sniData({{7, "whatever"}, {0, "b.example.test"}})));
  ASSERT_TRUE(hello.has_value()) << hello.error().what;
  EXPECT_EQ(hello->server_name, "b.example.test");
  const std::string longest(kMaxServerNameBytes, 'a');
  hello = parseClientHello(helloWith(sniExt(longest)));
  ASSERT_TRUE(hello.has_value()) << hello.error().what;
  EXPECT_EQ(hello->server_name, longest);
}

TEST(ClientHello, AlpnShapes) {
  EXPECT_EQ(errorOf(helloWith(alpnExt({"h2", ""}))), "empty ALPN protocol name");
  EXPECT_EQ(errorOf(helloWith(extension(wire::kExtAlpn, {0, 0}))), "empty ALPN list");
  EXPECT_EQ(errorOf(helloWith(extension(wire::kExtAlpn, {0, 2, 5, 'h'}))),
            "truncated ALPN protocol");
  Bytes twice = alpnExt({"h2"});
  append(twice, alpnExt({"h2"}));
  EXPECT_EQ(errorOf(helloWith(twice)), "duplicate ALPN extension");
}

TEST(ClientHello, GarbageAfterAValidRecordHeaderNeverCrashes) {
  // Deterministic pseudo-random bodies behind a plausible header: each answer is one of the
  // three, and a need-more never comes with the cap in hand.
  uint32_t state = 1;
  for (int round = 0; round < 2000; ++round) {
    Bytes input = {wire::kContentHandshake, 3, 1};
    const size_t n = 2 + (state % 600);
    for (size_t i = 0; i < n; ++i) {
      state = state * 1664525U + 1013904223U;  // LCG, fixed seed: reproducible
      input.push_back(static_cast<uint8_t>(state >> 24U));
    }
    const auto parsed = parseClientHello(input);
    if (!parsed.has_value()) {
      EXPECT_TRUE(parsed.error().code == Errc::kNeedMore || parsed.error().code == Errc::kBadInput);
    } else {
      EXPECT_LE(parsed->wire_bytes, input.size());
    }
  }
}

}  // namespace
}  // namespace ballast::proto::tls
