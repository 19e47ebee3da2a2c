// src/upstream/checks/dns_check.cpp — the 12-byte DNS header is all a verdict needs: id, QR,
// opcode and RCODE. The answer's records are not read.
#include "upstream/checks/dns_check.h"

#include <array>

namespace ballast::upstream::checks {
namespace {

constexpr size_t kHeaderBytes = 12;
constexpr uint16_t kFlagsRecursionDesired = 0x0100;
constexpr uint8_t kQrBit = 0x80;
constexpr uint8_t kOpcodeMask = 0x78;
constexpr uint8_t kRcodeMask = 0x0f;
constexpr uint16_t kClassIn = 1;
constexpr int kByteBits = 8;
constexpr std::array<const char*, 6> kRcodeNames = {"NOERROR",  "FORMERR", "SERVFAIL",
                                                    "NXDOMAIN", "NOTIMP",  "REFUSED"};

void putU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> kByteBits));
  out.push_back(static_cast<char>(v & 0xffU));
}

class DnsConversation final : public CheckConversation {
 public:
  DnsConversation(const config::HealthCheck& c, uint16_t id)
      : id_(id), query_(dnsQuery(c.query, c.query_type, id)) {}
  Judgement start(std::string& out) override {
    out += query_;
    return Judgement::needMore();
  }
  Judgement onBytes(std::span<const uint8_t> in, std::string& /*out*/) override {
    return judgeDnsAnswer(in, id_);
  }

 private:
  uint16_t id_;
  std::string query_;
};

}  // namespace

std::string dnsQuery(const std::string& name, uint16_t type, uint16_t id) {
  std::string out;
  putU16(out, id);
  putU16(out, kFlagsRecursionDesired);
  putU16(out, 1);  // one question
  putU16(out, 0);
  putU16(out, 0);
  putU16(out, 0);
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) {
      dot = name.size();
    }
    out.push_back(static_cast<char>(dot - start));
    out.append(name, start, dot - start);
    start = dot + 1;
  }
  out.push_back('\0');
  putU16(out, type);
  putU16(out, kClassIn);
  return out;
}

Judgement judgeDnsAnswer(std::span<const uint8_t> datagram, uint16_t id) {
  if (datagram.size() < kHeaderBytes) {
    return Judgement::unhealthy("answer shorter than a DNS header");
  }
  const auto got_id = static_cast<uint16_t>((datagram[0] << kByteBits) | datagram[1]);
  if ((datagram[2] & kQrBit) == 0 || (datagram[2] & kOpcodeMask) != 0) {
    return Judgement::unhealthy("not a DNS answer");
  }
  if (got_id != id) {
    return Judgement::unhealthy("answer id " + std::to_string(got_id) + ", asked " +
                                std::to_string(id));
  }
  const unsigned rcode = datagram[3] & kRcodeMask;
  if (rcode != 0) {
    return Judgement::unhealthy(rcode < kRcodeNames.size() ? kRcodeNames[rcode]
                                                           : "RCODE " + std::to_string(rcode));
  }
  const unsigned answers = (unsigned{datagram[6]} << kByteBits) | datagram[7];
  return Judgement::healthy("NOERROR, " + std::to_string(answers) + " answer(s)");
}

std::unique_ptr<CheckConversation> makeDnsConversation(const config::HealthCheck& check,
                                                       uint16_t id) {
  return std::make_unique<DnsConversation>(check, id);
}

}  // namespace ballast::upstream::checks
