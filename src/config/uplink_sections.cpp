// src/config/uplink_sections.cpp — `uplinks:`, `uplink_policy:` and `lan_interfaces:`: keys,
// types and ranges of the uplink plane. Checks that need the whole merged config (auto-assigned
// tables against lb_table) run when the plane resolves it.
#include <net/if.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "config/plane_sections.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kUplinkKeys = {"interface"sv, "weight"sv, "gateway"sv, "table"sv, "probe"sv};
constexpr std::array kProbeKeys = {"targets"sv};
constexpr std::array kPolicyKeys = {"interval"sv,           "timeout"sv,    "failure_threshold"sv,
                                    "recovery_threshold"sv, "debounce"sv,   "backoff_base"sv,
                                    "backoff_max"sv,        "hold_down"sv,  "affinity"sv,
                                    "lb_table"sv,           "table_base"sv, "rule_preference"sv,
                                    "state_file"sv};
// A multipath nexthop's weight is rtnh_hops + 1 in one byte.
constexpr uint64_t kMaxWeight = 256;
// Routing table ids: 0 is "unspecified" and 253..255 are the kernel's default, main and local.
constexpr uint64_t kMinTable = 1;
constexpr uint64_t kFirstReservedTable = 253;
constexpr uint64_t kLastReservedTable = 255;
constexpr uint64_t kMaxTable = 0xffffffffULL;
// Rule priority 0 is the local table's rule and 32766/32767 are main and default; ours must sit
// between, leaving room for the three priorities the plane uses (pref, pref+1, pref+2).
constexpr uint64_t kMinRulePreference = 1;
constexpr uint64_t kMaxRulePreference = 32763;
constexpr uint64_t kMaxThreshold = 1000;
constexpr size_t kMaxUplinks = 64;  // marks and tables are allotted per uplink
constexpr size_t kMaxProbeTargets = 16;

bool reservedTable(uint64_t t) { return t >= kFirstReservedTable && t <= kLastReservedTable; }

std::optional<uint32_t> readTable(FileReader& file, const Field& field) {
  const auto t = readUnsigned(file, field, kMinTable, kMaxTable);
  if (t && reservedTable(*t)) {
    file.error(field.valueMark(), field.key +
                                      ": tables 253, 254 and 255 are the kernel's default, main "
                                      "and local tables");
    return std::nullopt;
  }
  return t;
}

// An interface name as the kernel takes it: 1..IFNAMSIZ-1 bytes, no '/', ':' or whitespace.
std::optional<std::string> readInterface(FileReader& file, const Field& field) {
  const std::string expected = "an interface name of 1 to " + std::to_string(IFNAMSIZ - 1) +
                               " characters without '/', ':' or spaces";
  auto text = readScalar(file, field, expected);
  if (!text) {
    return std::nullopt;
  }
  const bool bad_char = std::any_of(text->begin(), text->end(), [](char c) {
    return c == '/' || c == ':' || static_cast<unsigned char>(c) <= ' ' || c == '\x7f';
  });
  if (text->empty() || text->size() >= IFNAMSIZ || bad_char || *text == "." || *text == "..") {
    reportExpected(file, field, expected, quote(*text));
    return std::nullopt;
  }
  return text;
}

std::optional<net::SocketAddress> readGateway(FileReader& file, const Field& field) {
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

std::optional<net::SocketAddress> readTarget(FileReader& file, const Field& field) {
  constexpr std::string_view kExpected = "an IPv4 host:port like 198.18.0.10:443";
  const auto text = readScalar(file, field, kExpected);
  if (!text) {
    return std::nullopt;
  }
  auto addr = net::SocketAddress::parse(*text);
  if (!addr || addr->isV6() || addr->port() == 0) {
    reportExpected(file, field, kExpected, quote(*text));
    return std::nullopt;
  }
  return addr;
}

void readProbe(FileReader& file, const Field& field, UplinkProbe& probe) {
  if (field.value.IsScalar()) {
    constexpr std::array<Choice<UplinkProbeKind>, 2> kKinds = {{
        {"gateway", UplinkProbeKind::kGateway},
        {"none", UplinkProbeKind::kNone},
    }};
    assign(probe.kind, readChoice<UplinkProbeKind>(file, field, kKinds));
    return;
  }
  const MapReader map(file, field, "probe", kProbeKeys);
  if (!map.ok()) {
    return;
  }
  const Field* targets = map.require(file, "targets");
  if (targets == nullptr) {
    return;
  }
  const auto items = listItems(file, *targets, "target");
  if (items.empty()) {
    file.error(targets->valueMark(), "targets: needs at least one host:port");
    return;
  }
  if (items.size() > kMaxProbeTargets) {
    file.error(targets->valueMark(),
               "targets: at most " + std::to_string(kMaxProbeTargets) + " probe targets");
    return;
  }
  probe.kind = UplinkProbeKind::kTcp;
  for (const auto& item : items) {
    if (auto t = readTarget(file, item)) {
      probe.targets.push_back(*t);
    }
  }
}

void readUplink(FileReader& file, const Field& item, Config& config) {
  const MapReader map(file, item, "uplink", kUplinkKeys);
  if (!map.ok()) {
    return;
  }
  Uplink uplink;
  bool ok = true;
  if (const Field* f = map.require(file, "interface")) {
    const auto name = readInterface(file, *f);
    ok = name.has_value();
    if (name) {
      const bool dup = std::any_of(config.uplinks.begin(), config.uplinks.end(),
                                   [&](const Uplink& u) { return u.interface == *name; });
      if (dup) {
        file.error(f->valueMark(), "interface: " + quote(*name) + " is already an uplink");
        ok = false;
      }
      uplink.interface = *name;
    }
  } else {
    ok = false;
  }
  if (const Field* f = map.find("weight")) {
    assign(uplink.weight, readUnsigned(file, *f, 1, kMaxWeight));
  }
  if (const Field* f = map.find("gateway")) {
    uplink.gateway = readGateway(file, *f);
  }
  if (const Field* f = map.find("table")) {
    const auto t = readTable(file, *f);
    if (t) {
      const bool dup = std::any_of(config.uplinks.begin(), config.uplinks.end(),
                                   [&](const Uplink& u) { return u.table == *t; });
      if (dup) {
        file.error(f->valueMark(),
                   "table: " + std::to_string(*t) + " is already used by another uplink");
      } else if (*t == config.uplink_policy.lb_table) {
        file.error(f->valueMark(), "table: " + std::to_string(*t) +
                                       " is the balancing table (uplink_policy.lb_table)");
      }
      uplink.table = *t;
    }
  }
  if (const Field* f = map.find("probe")) {
    readProbe(file, *f, uplink.probe);
  }
  if (config.uplinks.size() >= kMaxUplinks) {
    file.error(item.key_mark, "uplinks: at most " + std::to_string(kMaxUplinks) + " uplinks");
    return;
  }
  if (ok) {
    config.uplinks.push_back(std::move(uplink));
  }
}

void readPolicy(FileReader& file, const Field& field, UplinkPolicy& policy) {
  const MapReader map(file, field, "uplink_policy", kPolicyKeys);
  if (!map.ok()) {
    return;
  }
  policy.present = true;
  const auto duration = [&](std::string_view key, std::chrono::milliseconds& slot) {
    if (const Field* f = map.find(key)) {
      assign(slot, readDuration(file, *f, /*positive=*/true));
    }
  };
  const auto count = [&](std::string_view key, uint32_t& slot) {
    if (const Field* f = map.find(key)) {
      assign(slot, readUnsigned(file, *f, 1, kMaxThreshold));
    }
  };
  duration("interval", policy.interval);
  duration("timeout", policy.timeout);
  duration("debounce", policy.debounce);
  duration("backoff_base", policy.backoff_base);
  duration("backoff_max", policy.backoff_max);
  duration("hold_down", policy.hold_down);
  count("failure_threshold", policy.failure_threshold);
  count("recovery_threshold", policy.recovery_threshold);
  if (const Field* f = map.find("affinity")) {
    assign(policy.affinity, readBool(file, *f));
  }
  if (const Field* f = map.find("lb_table")) {
    assign(policy.lb_table, readTable(file, *f));
  }
  if (const Field* f = map.find("table_base")) {
    assign(policy.table_base, readTable(file, *f));
  }
  if (const Field* f = map.find("rule_preference")) {
    assign(policy.rule_preference, readUnsigned(file, *f, kMinRulePreference, kMaxRulePreference));
  }
  if (const Field* f = map.find("state_file")) {
    const auto path = readScalar(file, *f, "an absolute file path");
    if (path && (path->empty() || path->front() != '/')) {
      reportExpected(file, *f, "an absolute file path", quote(*path));
    } else if (path) {
      policy.state_file = *path;
    }
  }
  if (policy.timeout > policy.interval) {
    if (const Field* f = map.find("timeout")) {
      file.error(f->valueMark(), "timeout: must not exceed interval (" +
                                     std::to_string(policy.interval.count()) + "ms)");
    }
  }
  if (policy.backoff_base > policy.backoff_max) {
    const Field* f = map.find("backoff_base");
    file.error(f != nullptr ? f->valueMark() : map.mark(),
               "backoff_base: must not exceed backoff_max");
  }
}

}  // namespace

void readUplinkSections(FileReader& file, const MapReader& top, Config& config) {
  if (const Field* f = top.find("uplink_policy")) {
    if (config.uplink_policy.present) {
      file.error(f->key_mark, "uplink_policy: already set in another file");
    } else {
      readPolicy(file, *f, config.uplink_policy);
    }
  }
  if (const Field* f = top.find("uplinks")) {
    for (const auto& item : listItems(file, *f, "uplink")) {
      readUplink(file, item, config);
    }
  }
  if (const Field* f = top.find("lan_interfaces")) {
    for (const auto& item : listItems(file, *f, "interface")) {
      const auto name = readInterface(file, item);
      if (!name) {
        continue;
      }
      if (std::find(config.lan_interfaces.begin(), config.lan_interfaces.end(), *name) !=
          config.lan_interfaces.end()) {
        file.error(item.valueMark(), "lan_interfaces: " + quote(*name) + " is listed twice");
        continue;
      }
      config.lan_interfaces.push_back(*name);
    }
  }
  for (const auto& lan : config.lan_interfaces) {
    for (const auto& u : config.uplinks) {
      if (u.interface == lan) {
        if (const Field* f = top.find("lan_interfaces")) {
          file.error(f->key_mark, "lan_interfaces: " + quote(lan) + " is also an uplink");
        }
      }
    }
  }
}

}  // namespace ballast::config
