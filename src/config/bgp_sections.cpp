// src/config/bgp_sections.cpp — `bgp:`: keys, types and ranges of VIP announcement over BGP
// (issue #20). Everything is checked here, with line:column, since the section stands alone.
#include <algorithm>
#include <array>
#include <string_view>

#include "config/plane_sections.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kBgpKeys = {"daemon"sv,    "asn"sv,       "router_id"sv,
                                 "peers"sv,     "vips"sv,      "announce_when"sv,
                                 "hold_time"sv, "state_dir"sv, "daemon_binary"sv};
constexpr std::array kPeerKeys = {"address"sv, "asn"sv};
// AS numbers: 0 and 4294967295 are reserved (RFC 7607, RFC 7300).
constexpr uint64_t kMinAsn = 1;
constexpr uint64_t kMaxAsn = 4294967294ULL;
// RFC 4271: a hold time is 0 or at least 3 s; 0 (no keepalives) would hide a dead node.
constexpr uint64_t kMinHoldSeconds = 3;
constexpr uint64_t kMaxHoldSeconds = 65535;
constexpr size_t kMaxPeers = 16;
constexpr size_t kMaxVips = 256;
constexpr uint32_t kV4Bits = 32;
// Debian's frr package keeps bgpd off PATH.
constexpr std::string_view kFrrBgpdBinary = "/usr/lib/frr/bgpd";

constexpr std::array<Choice<BgpDaemon>, 2> kDaemons = {{
    {"bird", BgpDaemon::kBird},
    {"frr", BgpDaemon::kFrr},
}};
constexpr std::array<Choice<BgpAnnounceWhen>, 2> kAnnounceWhen = {{
    {"healthy", BgpAnnounceWhen::kHealthy},
    {"always", BgpAnnounceWhen::kAlways},
}};

std::optional<net::SocketAddress> readIpv4(FileReader& file, const Field& field) {
  constexpr std::string_view kExpected = "an IPv4 address like 198.18.0.1";
  const auto text = readScalar(file, field, kExpected);
  if (!text) {
    return std::nullopt;
  }
  auto addr = net::SocketAddress::parse(*text, /*allow_no_port=*/true);
  if (!addr || addr->isV6() || addr->port() != 0 || text->find(':') != std::string::npos) {
    reportExpected(file, field, kExpected, quote(*text));
    return std::nullopt;
  }
  return addr;
}

std::optional<net::Cidr> readVip(FileReader& file, const Field& field) {
  constexpr std::string_view kExpected = "an IPv4 address or prefix like 198.18.10.1/32";
  const auto text = readScalar(file, field, kExpected);
  if (!text) {
    return std::nullopt;
  }
  std::string with_len = *text;
  if (with_len.find('/') == std::string::npos) {
    with_len += "/32";
  }
  auto cidr = net::Cidr::parse(with_len);
  if (!cidr || text->find(':') != std::string::npos) {
    reportExpected(file, field, kExpected, quote(*text));
    return std::nullopt;
  }
  if (cidr->toString() != with_len && cidr->prefixLength() != kV4Bits) {
    // "10.1.2.3/8" would silently announce 10.0.0.0/8: refuse host bits.
    file.error(field.valueMark(), "vips: " + quote(*text) + " has host bits set; did you mean " +
                                      quote(cidr->toString()) + "?");
    return std::nullopt;
  }
  return cidr;
}

void readPeer(FileReader& file, const Field& item, BgpSettings& bgp) {
  const MapReader map(file, item, "peer", kPeerKeys);
  if (!map.ok()) {
    return;
  }
  BgpPeer peer;
  bool ok = true;
  if (const Field* f = map.require(file, "address")) {
    const auto a = readIpv4(file, *f);
    ok = a.has_value();
    if (a) {
      const bool dup = std::any_of(bgp.peers.begin(), bgp.peers.end(),
                                   [&](const BgpPeer& p) { return p.address == *a; });
      if (dup) {
        file.error(f->valueMark(), "address: " + quote(a->hostString()) + " is already a peer");
        ok = false;
      }
      peer.address = *a;
    }
  } else {
    ok = false;
  }
  if (const Field* f = map.require(file, "asn")) {
    const auto n = readUnsigned(file, *f, kMinAsn, kMaxAsn);
    ok = ok && n.has_value();
    assign(peer.asn, n);
  } else {
    ok = false;
  }
  if (ok) {
    bgp.peers.push_back(peer);
  }
}

void readBgp(FileReader& file, const Field& field, BgpSettings& bgp) {
  const MapReader map(file, field, "bgp", kBgpKeys);
  if (!map.ok()) {
    return;
  }
  bgp.present = true;
  if (const Field* f = map.find("daemon")) {
    assign(bgp.daemon, readChoice<BgpDaemon>(file, *f, kDaemons));
    if (bgp.daemon == BgpDaemon::kFrr) {
      bgp.daemon_binary = kFrrBgpdBinary;  // `daemon_binary:`, read below, still overrides
    }
  }
  if (const Field* f = map.require(file, "asn")) {
    assign(bgp.asn, readUnsigned(file, *f, kMinAsn, kMaxAsn));
  }
  if (const Field* f = map.require(file, "router_id")) {
    assign(bgp.router_id, readIpv4(file, *f));
  }
  if (const Field* f = map.require(file, "peers")) {
    const auto items = listItems(file, *f, "peer");
    if (items.empty() && f->value.IsSequence()) {
      file.error(f->valueMark(), "peers: needs at least one peer");
    }
    if (items.size() > kMaxPeers) {
      file.error(f->valueMark(), "peers: at most " + std::to_string(kMaxPeers) + " peers");
    } else {
      for (const auto& item : items) {
        readPeer(file, item, bgp);
      }
    }
  }
  if (const Field* f = map.require(file, "vips")) {
    const auto items = listItems(file, *f, "vip");
    if (items.empty() && f->value.IsSequence()) {
      file.error(f->valueMark(), "vips: needs at least one address or prefix");
    }
    if (items.size() > kMaxVips) {
      file.error(f->valueMark(), "vips: at most " + std::to_string(kMaxVips) + " VIPs");
    } else {
      for (const auto& item : items) {
        const auto vip = readVip(file, item);
        if (!vip) {
          continue;
        }
        if (std::find(bgp.vips.begin(), bgp.vips.end(), *vip) != bgp.vips.end()) {
          file.error(item.valueMark(), "vips: " + quote(vip->toString()) + " is listed twice");
          continue;
        }
        bgp.vips.push_back(*vip);
      }
    }
  }
  if (const Field* f = map.find("announce_when")) {
    assign(bgp.announce_when, readChoice<BgpAnnounceWhen>(file, *f, kAnnounceWhen));
  }
  if (const Field* f = map.find("hold_time")) {
    const auto d = readDuration(file, *f, /*positive=*/true);
    if (d) {
      const auto s = std::chrono::duration_cast<std::chrono::seconds>(*d);
      const auto n = static_cast<uint64_t>(s.count());
      if (s != *d || n < kMinHoldSeconds || n > kMaxHoldSeconds) {
        file.error(f->valueMark(), "hold_time: expected whole seconds from " +
                                       std::to_string(kMinHoldSeconds) + "s to " +
                                       std::to_string(kMaxHoldSeconds) + "s");
      } else {
        bgp.hold_time = s;
      }
    }
  }
  if (const Field* f = map.find("state_dir")) {
    const auto path = readScalar(file, *f, "an absolute directory path");
    if (path && (path->empty() || path->front() != '/' ||
                 path->find_first_of("\"\n") != std::string::npos)) {
      reportExpected(file, *f, "an absolute directory path", quote(*path));
    } else if (path) {
      bgp.state_dir = *path;
    }
  }
  if (const Field* f = map.find("daemon_binary")) {
    const auto path = readScalar(file, *f, "a program name or absolute path");
    if (path && (path->empty() || path->find_first_of(" \n\"") != std::string::npos)) {
      reportExpected(file, *f, "a program name or absolute path", quote(*path));
    } else if (path) {
      bgp.daemon_binary = *path;
    }
  }
}

}  // namespace

void readBgpSections(FileReader& file, const MapReader& top, Config& config) {
  if (const Field* f = top.find("bgp")) {
    if (config.bgp.present) {
      file.error(f->key_mark, "bgp: already set in another file");
    } else {
      readBgp(file, *f, config.bgp);
    }
  }
}

}  // namespace ballast::config
