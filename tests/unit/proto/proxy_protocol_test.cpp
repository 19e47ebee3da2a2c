// tests/unit/proto/proxy_protocol_test.cpp — PROXY protocol v1/v2 parsing and writing: round
// trips, the spec's examples, every malformed shape we reject, and incremental (kNeedMore) input.
#include "proto/proxy_protocol/proxy_protocol.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ballast::proto::proxy_protocol {
namespace {

using core::Errc;

constexpr uint16_t kClientPort = 56324;
constexpr uint16_t kHttpsPort = 443;
constexpr uint16_t kMaxPort = 65535;

net::SocketAddress ipv4(const char* text, uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET, text, &sin.sin_addr), 1) << text;
  return net::SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin));
}

net::SocketAddress ipv6(const char* text, uint16_t port) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1) << text;
  return net::SocketAddress::fromSockaddr(reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6));
}

// "1.2.3.4:80" or "[::1]:80", from the raw bytes so the test does not lean on toString().
std::string show(const net::SocketAddress& a) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  const std::string_view raw = a.addressBytes();
  if (raw.empty() || inet_ntop(a.family(), raw.data(), text.data(), text.size()) == nullptr) {
    return "<none>";
  }
  const std::string host(text.data());
  const std::string port = std::to_string(a.port());
  return a.family() == AF_INET6 ? "[" + host + "]:" + port : host + ":" + port;
}

std::span<const uint8_t> asBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Copies into a presized vector: GCC 12 at -O2 flags vector::insert here with a false
// -Warray-bounds.
std::vector<uint8_t> v2Bytes(std::span<const uint8_t> after_signature) {
  std::vector<uint8_t> out(wire::kV2Signature.size() + after_signature.size());
  std::copy(after_signature.begin(), after_signature.end(),
            std::copy(wire::kV2Signature.begin(), wire::kV2Signature.end(), out.begin()));
  return out;
}
std::vector<uint8_t> v2Bytes(std::initializer_list<uint8_t> after_signature) {
  return v2Bytes(std::span(after_signature.begin(), after_signature.size()));
}

// 10.0.0.1:12345 -> 10.0.0.2:443, then ALPN "h2" and an empty NOOP.
std::vector<uint8_t> tcp4WithTlvs() {
  constexpr std::array<uint8_t, 24> kAfterSignature = {
      0x21, 0x11, 0x00, 0x14, 10,   0,    0,    1,   10,  0,    0,    2,
      0x30, 0x39, 0x01, 0xBB, 0x01, 0x00, 0x02, 'h', '2', 0x04, 0x00, 0x00};
  return v2Bytes(kAfterSignature);
}

Errc errorOf(std::span<const uint8_t> data) {
  const auto r = parse(data);
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? Errc::kSystem : r.error().code;
}
Errc errorOf(std::string_view text) { return errorOf(asBytes(text)); }

// Every strict prefix needs more, the whole parses, and trailing payload is left alone.
void expectIncrementalParse(std::span<const uint8_t> header) {
  for (size_t n = 0; n < header.size(); ++n) {
    const auto r = parse(header.first(n));
    ASSERT_FALSE(r.has_value()) << "prefix of " << n << " bytes";
    EXPECT_EQ(r.error().code, Errc::kNeedMore) << "prefix of " << n << " bytes: " << r.error().what;
  }
  const auto whole = parse(header);
  ASSERT_TRUE(whole.has_value()) << whole.error().what;
  EXPECT_EQ(whole->header_length, header.size());

  std::vector<uint8_t> with_payload(header.begin(), header.end());
  const std::string_view payload = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  with_payload.insert(with_payload.end(), payload.begin(), payload.end());
  const auto followed = parse(with_payload);
  ASSERT_TRUE(followed.has_value()) << followed.error().what;
  EXPECT_EQ(followed->header_length, header.size());
}
void expectIncrementalParse(std::string_view header) { expectIncrementalParse(asBytes(header)); }

// ---- Round trips

TEST(ProxyProtocolTest, V1RoundTripIpv4) {
  const auto src = ipv4("192.0.2.1", kClientPort);
  const auto dst = ipv4("198.51.100.7", kHttpsPort);
  std::array<uint8_t, kMaxWriteBytes> out{};
  const size_t n = writeV1(src, dst, out);
  const std::string_view text(reinterpret_cast<const char*>(out.data()), n);
  EXPECT_EQ(text, "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n");

  const auto r = parse(std::span(out).first(n));
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_FALSE(r->local);
  EXPECT_EQ(show(r->source), "192.0.2.1:56324");
  EXPECT_EQ(show(r->destination), "198.51.100.7:443");
  EXPECT_EQ(r->header_length, n);
}

TEST(ProxyProtocolTest, V1RoundTripIpv6) {
  const auto src = ipv6("2001:db8::1", kClientPort);
  const auto dst = ipv6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", kMaxPort);
  std::array<uint8_t, kMaxWriteBytes> out{};
  const size_t n = writeV1(src, dst, out);
  const std::string_view text(reinterpret_cast<const char*>(out.data()), n);
  EXPECT_EQ(text, "PROXY TCP6 2001:db8::1 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff 56324 65535\r\n");

  const auto r = parse(std::span(out).first(n));
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_FALSE(r->local);
  EXPECT_EQ(show(r->source), "[2001:db8::1]:56324");
  EXPECT_EQ(show(r->destination), "[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
  EXPECT_EQ(r->header_length, n);
}

TEST(ProxyProtocolTest, V1LongestIpv6LineFits) {
  const auto full = ipv6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", kMaxPort);
  std::array<uint8_t, kMaxWriteBytes> out{};
  const size_t n = writeV1(full, full, out);
  constexpr size_t kSpecTcp6WorstCase = 104;
  EXPECT_EQ(n, kSpecTcp6WorstCase);
  const auto r = parse(std::span(out).first(n));
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_EQ(show(r->source), "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

TEST(ProxyProtocolTest, V2RoundTripIpv4) {
  const auto src = ipv4("192.0.2.1", kClientPort);
  const auto dst = ipv4("198.51.100.7", kHttpsPort);
  std::array<uint8_t, kMaxWriteBytes> out{};
  const size_t n = writeV2(src, dst, out);
  const auto expected =
      v2Bytes({0x21, 0x11, 0x00, 0x0C, 192, 0, 2, 1, 198, 51, 100, 7, 0xDC, 0x04, 0x01, 0xBB});
  ASSERT_EQ(n, expected.size());
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + static_cast<ptrdiff_t>(n)), expected);

  const auto r = parse(std::span(out).first(n));
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_FALSE(r->local);
  EXPECT_EQ(show(r->source), "192.0.2.1:56324");
  EXPECT_EQ(show(r->destination), "198.51.100.7:443");
  EXPECT_EQ(r->header_length, n);
}

TEST(ProxyProtocolTest, V2RoundTripIpv6) {
  const auto src = ipv6("2001:db8::1", kClientPort);
  const auto dst = ipv6("fe80::abcd", kHttpsPort);
  std::array<uint8_t, kMaxWriteBytes> out{};
  const size_t n = writeV2(src, dst, out);
  EXPECT_EQ(n, kV2FixedBytes + kV2Inet6AddressBytes);
  EXPECT_EQ(out[wire::kV2FamilyOffset], wire::kV2Tcp6);

  const auto r = parse(std::span(out).first(n));
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_FALSE(r->local);
  EXPECT_EQ(show(r->source), "[2001:db8::1]:56324");
  EXPECT_EQ(show(r->destination), "[fe80::abcd]:443");
  EXPECT_EQ(r->header_length, n);
}

TEST(ProxyProtocolTest, MixedFamiliesAreSentAsMappedIpv6) {
  const auto src = ipv4("192.0.2.1", kClientPort);
  const auto dst = ipv6("2001:db8::2", kHttpsPort);
  std::array<uint8_t, kMaxWriteBytes> out{};

  const size_t n1 = writeV1(src, dst, out);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(out.data()), n1),
            "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 56324 443\r\n");
  const auto r1 = parse(std::span(out).first(n1));
  ASSERT_TRUE(r1.has_value()) << r1.error().what;
  EXPECT_EQ(show(r1->source), "[::ffff:192.0.2.1]:56324");

  const size_t n2 = writeV2(dst, src, out);
  const auto r2 = parse(std::span(out).first(n2));
  ASSERT_TRUE(r2.has_value()) << r2.error().what;
  EXPECT_EQ(show(r2->source), "[2001:db8::2]:443");
  EXPECT_EQ(show(r2->destination), "[::ffff:192.0.2.1]:56324");
}

TEST(ProxyProtocolTest, NonIpAddressesAreSentAsUnknown) {
  const net::SocketAddress none;  // e.g. a unix-socket listener
  const auto dst = ipv4("198.51.100.7", kHttpsPort);
  std::array<uint8_t, kMaxWriteBytes> out{};

  const size_t n1 = writeV1(none, dst, out);
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(out.data()), n1), "PROXY UNKNOWN\r\n");
  const auto r1 = parse(std::span(out).first(n1));
  ASSERT_TRUE(r1.has_value()) << r1.error().what;
  EXPECT_TRUE(r1->local);

  const size_t n2 = writeV2(dst, none, out);
  EXPECT_EQ(n2, kV2FixedBytes);
  EXPECT_EQ(out[wire::kV2VersionCommandOffset], wire::kV2Version | wire::kV2CommandProxy);
  EXPECT_EQ(out[wire::kV2FamilyOffset], wire::kV2Unspec);
  const auto r2 = parse(std::span(out).first(n2));
  ASSERT_TRUE(r2.has_value()) << r2.error().what;
  EXPECT_TRUE(r2->local);
  EXPECT_EQ(r2->header_length, kV2FixedBytes);
}

// ---- The spec's examples

TEST(ProxyProtocolTest, SpecV1ExampleBeforeHttpRequest) {
  const std::string_view line = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
  const std::string stream = std::string(line) + "GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n";
  const auto r = parse(asBytes(stream));
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_FALSE(r->local);
  EXPECT_EQ(show(r->source), "192.168.0.1:56324");
  EXPECT_EQ(show(r->destination), "192.168.0.11:443");
  EXPECT_EQ(r->header_length, line.size());
}

// The spec gives v2 as a layout, not a dump: signature, \x21 (v2, PROXY), \x11 (TCP over IPv4),
// length 12, then source, destination, source port, destination port in network order. These are
// the v1 example's addresses laid out that way, followed by the request.
TEST(ProxyProtocolTest, SpecV2LayoutBeforeHttpRequest) {
  const auto header = v2Bytes({0x21, 0x11, 0x00, 0x0C, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00,
                               0x0B, 0xDC, 0x04, 0x01, 0xBB});
  const size_t header_bytes = header.size();
  std::vector<uint8_t> stream = header;
  const std::string_view request = "GET / HTTP/1.1\r\n";
  stream.insert(stream.end(), request.begin(), request.end());
  const auto r = parse(stream);
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_FALSE(r->local);
  EXPECT_EQ(show(r->source), "192.168.0.1:56324");
  EXPECT_EQ(show(r->destination), "192.168.0.11:443");
  EXPECT_EQ(r->header_length, header_bytes);
}

TEST(ProxyProtocolTest, SpecV1UnknownForms) {
  const auto short_form = parse(asBytes("PROXY UNKNOWN\r\nX"));
  ASSERT_TRUE(short_form.has_value()) << short_form.error().what;
  EXPECT_TRUE(short_form->local);
  constexpr size_t kShortFormBytes = 15;
  EXPECT_EQ(short_form->header_length, kShortFormBytes);

  // The spec's worst case: exactly 107 bytes with the CRLF, and the rest of the line is ignored.
  const std::string ffff = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const std::string worst = "PROXY UNKNOWN " + ffff + " " + ffff + " 65535 65535\r\n";
  ASSERT_EQ(worst.size(), kMaxV1Bytes);
  const auto long_form = parse(asBytes(worst));
  ASSERT_TRUE(long_form.has_value()) << long_form.error().what;
  EXPECT_TRUE(long_form->local);
  EXPECT_EQ(long_form->header_length, kMaxV1Bytes);
}

// ---- Accepted v2 variants

TEST(ProxyProtocolTest, V2LocalCommandIsLocal) {
  const auto local = v2Bytes({0x20, 0x00, 0x00, 0x00});
  const auto r = parse(local);
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_TRUE(r->local);
  EXPECT_EQ(r->header_length, kV2FixedBytes);
}

TEST(ProxyProtocolTest, V2LocalWithAddressesSkipsThem) {
  const auto local = v2Bytes({0x20, 0x11, 0x00, 0x0C, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2});
  const auto r = parse(local);
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_TRUE(r->local);
  EXPECT_EQ(r->header_length, local.size());
}

TEST(ProxyProtocolTest, V2ProxyWithUnspecFamilyIsLocal) {
  // Spec: "receivers MUST always consider this field to skip the appropriate number of bytes".
  const auto unspec = v2Bytes({0x21, 0x00, 0x00, 0x03, 0x04, 0x00, 0x00});
  const auto r = parse(unspec);
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_TRUE(r->local);
  EXPECT_EQ(r->header_length, unspec.size());
}

TEST(ProxyProtocolTest, V2UdpIsAccepted) {
  const auto udp4 =
      v2Bytes({0x21, 0x12, 0x00, 0x0C, 10, 0, 0, 1, 10, 0, 0, 2, 0x00, 0x35, 0x00, 0x35});
  const auto r = parse(udp4);
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_EQ(show(r->source), "10.0.0.1:53");
  EXPECT_EQ(show(r->destination), "10.0.0.2:53");
}

TEST(ProxyProtocolTest, V2TlvsAreSkipped) {
  const auto header = tcp4WithTlvs();
  const size_t header_bytes = header.size();
  std::vector<uint8_t> stream = header;
  stream.push_back('G');
  const auto r = parse(stream);
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_EQ(r->header_length, header_bytes);
  EXPECT_EQ(show(r->source), "10.0.0.1:12345");
}

TEST(ProxyProtocolTest, V2TlvsUpToTheLimitAreAccepted) {
  std::vector<uint8_t> header =
      v2Bytes({wire::kV2Version | wire::kV2CommandProxy, wire::kV2Tcp4, 0, 0});
  const size_t length = kV2Inet4AddressBytes + kMaxV2TlvBytes;
  header[wire::kV2LengthOffset] = static_cast<uint8_t>(length >> CHAR_BIT);
  header[wire::kV2LengthOffset + 1] = static_cast<uint8_t>(length);
  header.resize(kV2FixedBytes + kV2Inet4AddressBytes);
  // One NOOP TLV filling the whole allowance.
  const size_t value = kMaxV2TlvBytes - wire::kV2TlvHeaderBytes;
  header.push_back(0x04);
  header.push_back(static_cast<uint8_t>(value >> CHAR_BIT));
  header.push_back(static_cast<uint8_t>(value));
  header.resize(kV2FixedBytes + length);
  ASSERT_LE(header.size(), kMaxHeaderBytes);
  const auto r = parse(header);
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_EQ(r->header_length, header.size());
}

// ---- Malformed: signatures

TEST(ProxyProtocolTest, HttpRequestFailsOnFirstByte) {
  EXPECT_EQ(errorOf("G"), Errc::kBadInput);
  EXPECT_EQ(errorOf("GET / HTTP/1.1\r\n"), Errc::kBadInput);
  const std::array<uint8_t, 1> tls_record = {0x16};
  EXPECT_EQ(errorOf(tls_record), Errc::kBadInput);
}

TEST(ProxyProtocolTest, BadV1SignatureFailsEarly) {
  EXPECT_EQ(errorOf("PROXX"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY\t"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PR\r\n"), Errc::kBadInput);
}

TEST(ProxyProtocolTest, BadV2SignatureFailsEarly) {
  constexpr ptrdiff_t kMatchingBytes = 5;
  std::vector<uint8_t> sig(wire::kV2Signature.begin(), wire::kV2Signature.begin() + kMatchingBytes);
  sig.push_back('X');  // where the signature has \r
  EXPECT_EQ(errorOf(sig), Errc::kBadInput);
  const std::array<uint8_t, 2> cr_cr = {'\r', '\r'};
  EXPECT_EQ(errorOf(cr_cr), Errc::kBadInput);
}

TEST(ProxyProtocolTest, EmptyInputNeedsMore) {
  EXPECT_EQ(errorOf(std::span<const uint8_t>()), Errc::kNeedMore);
}

// ---- Malformed: v2

TEST(ProxyProtocolTest, V2BadVersion) {
  EXPECT_EQ(errorOf(v2Bytes({0x11})), Errc::kBadInput);
  EXPECT_EQ(errorOf(v2Bytes({0x31, 0x11, 0x00, 0x0C})), Errc::kBadInput);
  EXPECT_EQ(errorOf(v2Bytes({0x01})), Errc::kBadInput);
}

TEST(ProxyProtocolTest, V2BadCommand) {
  EXPECT_EQ(errorOf(v2Bytes({0x22})), Errc::kBadInput);
  EXPECT_EQ(errorOf(v2Bytes({0x2F, 0x11, 0x00, 0x0C})), Errc::kBadInput);
}

TEST(ProxyProtocolTest, V2AfUnixRejected) {
  EXPECT_EQ(errorOf(v2Bytes({0x21, 0x31})), Errc::kBadInput);
  EXPECT_EQ(errorOf(v2Bytes({0x21, 0x32})), Errc::kBadInput);
  EXPECT_EQ(errorOf(v2Bytes({0x20, 0x31, 0x00, 0x00})), Errc::kBadInput);
}

TEST(ProxyProtocolTest, V2InvalidFamilyOrTransport) {
  for (const uint8_t fam : {0x01, 0x10, 0x13, 0x20, 0x23, 0x41, 0xFF}) {
    EXPECT_EQ(errorOf(v2Bytes({0x21, fam})), Errc::kBadInput) << int{fam};
  }
}

TEST(ProxyProtocolTest, V2LengthShorterThanAddressBlock) {
  EXPECT_EQ(errorOf(v2Bytes({0x21, 0x11, 0x00, 0x0B})), Errc::kBadInput);
  EXPECT_EQ(errorOf(v2Bytes({0x21, 0x21, 0x00, 0x23})), Errc::kBadInput);
  EXPECT_EQ(errorOf(v2Bytes({0x21, 0x21, 0x00, 0x0C})), Errc::kBadInput);
}

TEST(ProxyProtocolTest, V2LengthOverLimitFailsBeforeTheBody) {
  const size_t length = kV2Inet4AddressBytes + kMaxV2TlvBytes + 1;
  EXPECT_EQ(errorOf(v2Bytes({0x21, 0x11, static_cast<uint8_t>(length >> CHAR_BIT),
                             static_cast<uint8_t>(length)})),
            Errc::kBadInput);
  EXPECT_EQ(errorOf(v2Bytes({0x21, 0x11, 0xFF, 0xFF})), Errc::kBadInput);
  EXPECT_EQ(errorOf(v2Bytes({0x20, 0x00, 0xFF, 0xFF})), Errc::kBadInput);
}

TEST(ProxyProtocolTest, V2TruncatedHeaderNeedsMore) {
  // Says 12 bytes of addresses, carries 5: valid so far.
  EXPECT_EQ(errorOf(v2Bytes({0x21, 0x11, 0x00, 0x0C, 1, 2, 3, 4, 5})), Errc::kNeedMore);
  // Fixed part cut inside the length.
  EXPECT_EQ(errorOf(v2Bytes({0x21, 0x11, 0x00})), Errc::kNeedMore);
}

TEST(ProxyProtocolTest, V2TlvValueOverrunsHeader) {
  // Length 16 = 12 address bytes + a TLV header claiming 2 value bytes where only 1 fits.
  EXPECT_EQ(errorOf(v2Bytes({0x21, 0x11, 0x00, 0x10, 1, 2, 3,    4,    5,    6,
                             7,    8,    0,    1,    0, 2, 0x01, 0x00, 0x02, 'h'})),
            Errc::kBadInput);
  // Same overrun is visible from the TLV header alone, before its value arrives.
  EXPECT_EQ(errorOf(v2Bytes(
                {0x21, 0x11, 0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0x01, 0x00, 0x02})),
            Errc::kBadInput);
}

TEST(ProxyProtocolTest, V2TlvHeaderOverrunsHeader) {
  // Two bytes left after the addresses: too few for a TLV header.
  EXPECT_EQ(errorOf(v2Bytes({0x21, 0x11, 0x00, 0x0E, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2})),
            Errc::kBadInput);
}

// ---- Malformed: v1

TEST(ProxyProtocolTest, V1LowercaseRejected) {
  EXPECT_EQ(errorOf("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("p"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY t"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY unknown\r\n"), Errc::kBadInput);
}

TEST(ProxyProtocolTest, V1ExtraSpacesRejected) {
  EXPECT_EQ(errorOf("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), Errc::kBadInput);
  // Found without waiting for the CRLF.
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4  "), Errc::kBadInput);
}

TEST(ProxyProtocolTest, V1OtherSeparatorsRejected) {
  EXPECT_EQ(errorOf("PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\r"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY UNKNOWN\n"), Errc::kBadInput);
}

TEST(ProxyProtocolTest, V1LeadingZeroPortRejected) {
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 080 443\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 80 0443\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 00 443\r\n"), Errc::kBadInput);
  // Port 0 itself is fine.
  const auto r = parse(asBytes("PROXY TCP4 1.2.3.4 5.6.7.8 0 0\r\n"));
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_EQ(r->source.port(), 0);
}

TEST(ProxyProtocolTest, V1Port65536Rejected) {
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 65536 443\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 80 99999\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 80 100000\r\n"), Errc::kBadInput);
  const auto r = parse(asBytes("PROXY TCP4 1.2.3.4 5.6.7.8 65535 65535\r\n"));
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_EQ(r->destination.port(), kMaxPort);
}

TEST(ProxyProtocolTest, V1SignedOrNonDecimalPortRejected) {
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 +80 443\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 -1 443\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 0x50 443\r\n"), Errc::kBadInput);
}

TEST(ProxyProtocolTest, V1NoCrlfWithin107BytesRejected) {
  // UNKNOWN ignores the rest of its line, so only the length limit can end this one.
  const std::string prefix = "PROXY UNKNOWN ";
  const std::string no_crlf = prefix + std::string(kMaxV1Bytes + 1 - prefix.size(), 'f');
  EXPECT_EQ(errorOf(no_crlf), Errc::kBadInput);
  EXPECT_EQ(errorOf(no_crlf.substr(0, kMaxV1Bytes)), Errc::kBadInput);
  EXPECT_EQ(errorOf(no_crlf.substr(0, kMaxV1Bytes - 1)), Errc::kNeedMore);
  // CR as byte 107 puts its LF at 108: too late, whatever follows.
  EXPECT_EQ(errorOf(no_crlf.substr(0, kMaxV1Bytes - 1) + "\r"), Errc::kBadInput);
  EXPECT_EQ(errorOf(no_crlf.substr(0, kMaxV1Bytes - 1) + "\r\n"), Errc::kBadInput);
  // CRLF as bytes 106-107 is the longest valid line.
  const auto r = parse(asBytes(no_crlf.substr(0, kMaxV1Bytes - 2) + "\r\n"));
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_EQ(r->header_length, kMaxV1Bytes);
}

TEST(ProxyProtocolTest, V1MismatchedFamilyRejected) {
  EXPECT_EQ(errorOf("PROXY TCP4 ::1 ::2 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP6 ::1 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 ::1 1 2\r\n"), Errc::kBadInput);
  // Visible from the first colon.
  EXPECT_EQ(errorOf("PROXY TCP4 :"), Errc::kBadInput);
}

TEST(ProxyProtocolTest, V1BadAddressesRejected) {
  EXPECT_EQ(errorOf("PROXY TCP4 256.1.1.1 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP6 1::2::3 ::1 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP6 [::1] ::1 1 2\r\n"), Errc::kBadInput);
}

TEST(ProxyProtocolTest, V1WrongFieldCountRejected) {
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY \r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 "), Errc::kBadInput);
}

TEST(ProxyProtocolTest, V1UnknownProtocolRejected) {
  EXPECT_EQ(errorOf("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY UNKNOWNX\r\n"), Errc::kBadInput);
  EXPECT_EQ(errorOf("PROXY TCP44 1.2.3.4 5.6.7.8 1 2\r\n"), Errc::kBadInput);
}

// ---- Incremental input

TEST(ProxyProtocolTest, EveryPrefixOfV1HeadersNeedsMore) {
  expectIncrementalParse("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n");
  expectIncrementalParse("PROXY TCP4 0.0.0.0 10.0.0.1 0 8080\r\n");
  expectIncrementalParse("PROXY TCP6 ::ffff:1.2.3.4 2001:DB8::a 1 2\r\n");
  expectIncrementalParse("PROXY UNKNOWN\r\n");
  expectIncrementalParse("PROXY UNKNOWN ::1 ::2 whatever\r\n");
}

TEST(ProxyProtocolTest, EveryPrefixOfV2HeadersNeedsMore) {
  std::array<uint8_t, kMaxWriteBytes> out{};
  const auto v4 = ipv4("10.1.2.3", kClientPort);
  const auto v6 = ipv6("2001:db8::7", kHttpsPort);
  expectIncrementalParse(std::span(out).first(writeV2(v4, v4, out)));
  expectIncrementalParse(std::span(out).first(writeV2(v6, v6, out)));
  expectIncrementalParse(
      v2Bytes({wire::kV2Version | wire::kV2CommandLocal, wire::kV2Unspec, 0, 0}));
  expectIncrementalParse(tcp4WithTlvs());
}

TEST(ProxyProtocolTest, EveryPrefixOfWrittenV1HeadersNeedsMore) {
  std::array<uint8_t, kMaxWriteBytes> out{};
  const auto v4 = ipv4("10.1.2.3", kClientPort);
  const auto v6 = ipv6("2001:db8::7", kHttpsPort);
  expectIncrementalParse(std::span(out).first(writeV1(v4, v4, out)));
  expectIncrementalParse(std::span(out).first(writeV1(v6, v4, out)));
}

TEST(ProxyProtocolTest, LargeInputReadsOnlyTheHeader) {
  std::string stream = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
  const size_t header_bytes = stream.size();
  stream.append(kMaxHeaderBytes * kMaxHeaderBytes, 'x');
  const auto r = parse(asBytes(stream));
  ASSERT_TRUE(r.has_value()) << r.error().what;
  EXPECT_EQ(r->header_length, header_bytes);
}

}  // namespace
}  // namespace ballast::proto::proxy_protocol
