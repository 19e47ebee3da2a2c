// tests/fuzz/ipvs_netlink_fuzz.cpp — libFuzzer target for the IPVS generic netlink decoders
// (kernel/ipvs_netlink.h). The input after its first byte is a receive buffer, walked with
// mnl_cb_run as IpvsClient::exchange walks one; every data message goes through every decoder.
// Beyond "no crash": a decoded service or destination is within what callers assume, and
// re-encodes (as a full request and as a key-only one) into a message that decodes to the same.
// The first byte picks the address family a destination without one inherits.
//
// The buffer is the input copied into an allocation of its own, rounded up to NLMSG_ALIGNTO as a
// real receive buffer always is: libmnl bounds attributes by MNL_ALIGN(nlmsg_len), which the
// kernel never leaves unaligned. Any read beyond that is a decoder trusting a length.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernel/ipvs_netlink.h"
#include "net/netlink_check.h"

namespace {

namespace kernel = ballast::kernel;

constexpr uint8_t kInet6Bit = 0x01;
constexpr uint16_t kFamilyId = 0x2a;  // any value: decoders do not look at nlmsg_type

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

// Reads every byte of a decoded string, so that ASan sees one pointing outside the input.
size_t touch(const std::string& s) {
  size_t sum = 0;
  for (const char c : s) {
    sum += static_cast<unsigned char>(c);
  }
  return sum;
}

struct Walk {
  uint16_t service_af = AF_INET;
  size_t messages = 0;
};

void roundTripService(const kernel::IpvsService& s) {
  for (const bool full : {true, false}) {
    std::array<char, kernel::kIpvsRequestBytes> buf{};
    const kernel::IpvsRequest req{
        .family_id = kFamilyId, .cmd = IPVS_CMD_NEW_SERVICE, .service = &s, .full_service = full};
    auto nlh = kernel::encodeIpvsRequest(buf, req);
    // The only refusals: a scheduler the kernel would not take (the af check cannot fail on a
    // decoded service, whose address is built from its af).
    check(nlh.has_value() == (s.scheduler.size() < IP_VS_SCHEDNAME_MAXLEN));
    if (!nlh) {
      return;
    }
    check((*nlh)->nlmsg_len <= buf.size());
    auto again = kernel::decodeIpvsService(*nlh);
    check(again.has_value());
    if (full) {
      check(*again == s);
    } else {
      check(again->af == s.af && again->fwmark == s.fwmark && again->protocol == s.protocol &&
            again->address == s.address);
    }
  }
}

void roundTripDest(const kernel::IpvsDest& d, uint16_t service_af) {
  for (const bool full : {true, false}) {
    std::array<char, kernel::kIpvsRequestBytes> buf{};
    const kernel::IpvsRequest req{
        .family_id = kFamilyId, .cmd = IPVS_CMD_NEW_DEST, .dest = &d, .full_dest = full};
    auto nlh = kernel::encodeIpvsRequest(buf, req);
    check(nlh.has_value());
    check((*nlh)->nlmsg_len <= buf.size());
    // The request names the destination's family, so the fallback must not matter.
    const uint16_t other_af = service_af == AF_INET ? AF_INET6 : AF_INET;
    auto again = kernel::decodeIpvsDest(*nlh, other_af);
    check(again.has_value());
    if (full) {
      check(*again == d);
    } else {
      check(again->address == d.address);
    }
  }
}

int onMessage(const nlmsghdr* nlh, void* data) {
  auto* walk = static_cast<Walk*>(data);
  ++walk->messages;
  if (auto s = kernel::decodeIpvsService(nlh)) {
    check((s->flags & ~kernel::kIpvsUserFlags) == 0);
    if (s->fwmark == 0) {
      check(s->address.family() == s->af);
    }
    (void)touch(s->describe());
    (void)touch(s->scheduler);
    roundTripService(*s);
  }
  if (auto d = kernel::decodeIpvsDest(nlh, walk->service_af)) {
    check((static_cast<uint32_t>(d->forward) & ~static_cast<uint32_t>(IP_VS_CONN_F_FWD_MASK)) == 0);
    (void)touch(d->address.toString());
    roundTripDest(*d, walk->service_af);
  }
  if (auto info = kernel::decodeIpvsInfo(nlh)) {
    (void)touch(info->versionString());
  }
  (void)kernel::decodeFamilyId(nlh);
  return MNL_CB_OK;
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer looks for
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  Walk walk;
  walk.service_af = (data[0] & kInet6Bit) != 0 ? AF_INET6 : AF_INET;
  const size_t len = size - 1;
  std::vector<char> buf(MNL_ALIGN(len));
  if (len != 0) {
    std::memcpy(buf.data(), data + 1, len);
  }
  // Seq and port 0 accept any, as for an event socket; an error or done message ends the walk.
  // The client checks a buffer before libmnl walks it (net/netlink_check.h); so does this.
  if (!ballast::net::netlinkBufferValid(buf.data(), len)) {
    return 0;
  }
  (void)mnl_cb_run(buf.data(), len, 0, 0, onMessage, &walk);
  return 0;
}
