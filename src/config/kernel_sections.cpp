// src/config/kernel_sections.cpp — the `kernel:` and `virtual_services:` schema (issue #8): keys,
// types, ranges, and the checks that depend on the driver (schedulers and forwarding methods
// differ between nftables and IPVS).
#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "config/plane_sections.h"
#include "config/sections.h"
#include "config/units.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kKernelKeys = {"driver"sv, "reconcile_interval"sv, "vip_gate"sv};
constexpr std::array kVipGateKeys = {"addresses"sv, "on_standby"sv};
constexpr std::array kServiceKeys = {"name"sv,        "vip"sv,       "port"sv,        "ports"sv,
                                     "protocol"sv,    "scheduler"sv, "forwarding"sv,  "snat"sv,
                                     "persistence"sv, "backends"sv,  "health_check"sv};
constexpr std::array kBackendKeys = {"address"sv, "port"sv, "weight"sv};

// Below this a reconcile (one full read of the kernel's tables) would run back to back; above
// it drift would linger for longer than anyone waits for.
constexpr Duration kMinReconcileInterval{100};
constexpr Duration kMaxReconcileInterval{std::chrono::hours(1)};
// IPVS keeps its persistence timeout in seconds, in a 32-bit field; a day is plenty.
constexpr Duration kMaxPersistence{std::chrono::hours(24)};
constexpr uint64_t kMaxPort = 65535;
// Each port is one verdict-map element (nftables) or one IPVS service.
constexpr size_t kMaxPortsPerService = 64;
// Each backend is at least one map element or IPVS destination; beyond this a generated file
// has likely gone wrong.
constexpr size_t kMaxBackendsPerService = 1024;

constexpr std::array<Choice<KernelDriver>, 2> kDrivers = {{
    {"nftables", KernelDriver::kNftables},
    {"ipvs", KernelDriver::kIpvs},
}};
constexpr std::array<Choice<OnStandby>, 2> kOnStandby = {{
    {"remove", OnStandby::kRemove},
    {"keep", OnStandby::kKeep},
}};
constexpr std::array<Choice<KernelProtocol>, 2> kKernelProtocols = {{
    {"tcp", KernelProtocol::kTcp},
    {"udp", KernelProtocol::kUdp},
}};
constexpr std::array<Choice<KernelScheduler>, 7> kSchedulers = {{
    {"rr", KernelScheduler::kRr},
    {"wrr", KernelScheduler::kWrr},
    {"hash", KernelScheduler::kHash},
    {"lc", KernelScheduler::kLc},
    {"wlc", KernelScheduler::kWlc},
    {"sh", KernelScheduler::kSh},
    {"mh", KernelScheduler::kMh},
}};
constexpr std::array<Choice<KernelForwarding>, 3> kForwardings = {{
    {"nat", KernelForwarding::kNat},
    {"dr", KernelForwarding::kDr},
    {"tunnel", KernelForwarding::kTunnel},
}};

template <typename E, size_t N>
std::string_view nameOf(const std::array<Choice<E>, N>& choices, E value) {
  for (const auto& c : choices) {
    if (c.value == value) {
      return c.name;
    }
  }
  return "?";
}

std::string_view driverName(KernelDriver d) { return nameOf(kDrivers, d); }

bool schedulerWorksWith(KernelScheduler s, KernelDriver d) {
  if (d == KernelDriver::kIpvs) {
    return true;
  }
  return s == KernelScheduler::kRr || s == KernelScheduler::kWrr || s == KernelScheduler::kHash;
}

// A bare IP address ("198.18.0.10", "2001:db8::1"): the ports are separate keys.
std::optional<net::SocketAddress> readHost(FileReader& file, const Field& field) {
  constexpr std::string_view kExpected = "an IP address without a port";
  const auto text = readScalar(file, field, kExpected);
  if (!text) {
    return std::nullopt;
  }
  auto address = net::SocketAddress::parse(*text, /*allow_no_port=*/true);
  if (!address || address->port() != 0 || text->find('*') != std::string::npos || text->empty() ||
      text->front() == ':') {
    reportExpected(file, field, kExpected, quote(*text));
    return std::nullopt;
  }
  return address;
}

// What the service-level checks need to know about where a value was written.
struct ServiceMarks {
  const Field* scheduler = nullptr;
  const Field* forwarding = nullptr;
  const Field* snat = nullptr;
  const Field* persistence = nullptr;
  const Field* backends = nullptr;
};

// Checks of one service that depend on the driver.
void checkForDriver(FileReader& file, const VirtualService& vs, const ServiceMarks& marks,
                    KernelDriver driver) {
  if (marks.scheduler != nullptr && !schedulerWorksWith(vs.scheduler, driver)) {
    file.error(marks.scheduler->valueMark(),
               "scheduler: \"" + std::string(nameOf(kSchedulers, vs.scheduler)) +
                   "\" needs driver ipvs; with nftables use rr, wrr or hash");
  }
  if (marks.forwarding != nullptr && driver == KernelDriver::kNftables &&
      vs.forwarding != KernelForwarding::kNat) {
    file.error(marks.forwarding->valueMark(),
               "forwarding: \"" + std::string(nameOf(kForwardings, vs.forwarding)) +
                   "\" needs driver ipvs; nftables forwards by nat only");
  }
  if (marks.snat != nullptr && vs.snat && driver == KernelDriver::kIpvs) {
    file.error(marks.snat->key_mark,
               "snat: only for driver nftables (IPVS in nat mode needs the backends to route "
               "replies through this node)");
  }
  if (driver == KernelDriver::kNftables && vs.ports.size() > 1 && marks.backends != nullptr) {
    const auto ported = std::count_if(vs.backends.begin(), vs.backends.end(),
                                      [](const KernelBackend& b) { return b.address.port() != 0; });
    if (ported != 0 && static_cast<size_t>(ported) != vs.backends.size()) {
      file.error(marks.backends->key_mark,
                 "backends: with several ports, nftables needs every backend with a port or "
                 "none (none: each connection keeps its port)");
    }
  }
  if (marks.persistence != nullptr && vs.persistence.count() > 0 &&
      driver == KernelDriver::kNftables) {
    file.error(marks.persistence->key_mark,
               "persistence: only for driver ipvs; with nftables use scheduler: hash, which "
               "keeps a client on one backend while the backend set is unchanged");
  }
}

void readBackend(FileReader& file, const Field& item, VirtualService& vs,
                 std::map<std::string, int>& seen) {
  const MapReader map(file, item, "backend", kBackendKeys);
  if (!map.ok()) {
    return;
  }
  KernelBackend backend;
  const Field* address_field = map.require(file, "address");
  std::optional<net::SocketAddress> address;
  if (address_field != nullptr) {
    const auto text = readScalar(file, *address_field, "an IP address, with or without a port");
    if (text) {
      address = net::SocketAddress::parse(*text, /*allow_no_port=*/true);
      if (!address || text->find('*') != std::string::npos || text->front() == ':') {
        reportExpected(file, *address_field, "an IP address, with or without a port", quote(*text));
        address.reset();
      }
    }
  }
  if (const Field* f = map.find("port")) {
    const auto port = readUnsigned(file, *f, 1, kMaxPort);
    if (port && address && address->port() != 0) {
      file.error(f->key_mark,
                 "port: the address already has a port (" + std::to_string(address->port()) + ")");
    } else if (port && address) {
      address->setPort(static_cast<uint16_t>(*port));
    }
  }
  if (const Field* f = map.find("weight")) {
    assign(backend.weight, readUnsigned(file, *f, 0, kMaxWeight));
  }
  if (!address) {
    return;
  }
  const Location at = file.at(address_field->valueMark());
  if (vs.vip.family() != 0 && address->family() != vs.vip.family()) {
    file.diagnostics().add(at, "address: backend " + address->toString() +
                                   " is not of the VIP's address family (" + vs.vip.hostString() +
                                   ")");
    return;
  }
  const auto [it, inserted] = seen.emplace(address->toString(), at.line);
  if (!inserted) {
    file.diagnostics().add(at, "address: duplicate backend " + address->toString() +
                                   " in virtual service \"" + vs.name + "\" (first at line " +
                                   std::to_string(it->second) + ")");
    return;
  }
  backend.address = *address;
  vs.backends.push_back(backend);
}

void readBackends(FileReader& file, const Field& field, VirtualService& vs) {
  const auto items = listItems(file, field, "backend");
  if (items.size() > kMaxBackendsPerService) {
    file.error(field.valueMark(), "backends: at most " + std::to_string(kMaxBackendsPerService) +
                                      " per virtual service, got " + std::to_string(items.size()));
    return;
  }
  std::map<std::string, int> seen;
  for (const auto& item : items) {
    readBackend(file, item, vs, seen);
  }
  if (items.empty() && (field.value.IsNull() || field.value.IsSequence())) {
    file.error(field.valueMark(), "virtual service \"" + vs.name + "\" has no backends");
  }
}

void readPorts(FileReader& file, const MapReader& map, VirtualService& vs) {
  const Field* port = map.find("port");
  const Field* ports = map.find("ports");
  if (port != nullptr && ports != nullptr) {
    file.error(ports->key_mark, "ports: give either port or ports, not both");
    return;
  }
  if (port == nullptr && ports == nullptr) {
    file.error(map.mark(), "virtual service \"" + vs.name + "\" needs \"port\" or \"ports\"");
    return;
  }
  if (port != nullptr) {
    if (const auto p = readUnsigned(file, *port, 1, kMaxPort)) {
      vs.ports.push_back(static_cast<uint16_t>(*p));
    }
    return;
  }
  const auto items = listItems(file, *ports, "port");
  if (items.empty() && (ports->value.IsNull() || ports->value.IsSequence())) {
    file.error(ports->valueMark(), "ports: expected at least one port");
  }
  if (items.size() > kMaxPortsPerService) {
    file.error(ports->valueMark(),
               "ports: at most " + std::to_string(kMaxPortsPerService) + " per virtual service");
    return;
  }
  for (const auto& item : items) {
    const auto p = readUnsigned(file, item, 1, kMaxPort);
    if (!p) {
      continue;
    }
    const auto value = static_cast<uint16_t>(*p);
    if (std::find(vs.ports.begin(), vs.ports.end(), value) != vs.ports.end()) {
      file.error(item.valueMark(), "ports: port " + std::to_string(value) + " is listed twice");
      continue;
    }
    vs.ports.push_back(value);
  }
}

// DR and tunnel rewrite only the MAC or wrap the packet: the backend answers on the VIP's own
// port, so a different backend port would be silently ignored by the kernel.
void checkDirectPorts(FileReader& file, const Field* backends, const VirtualService& vs) {
  if (vs.forwarding == KernelForwarding::kNat || backends == nullptr) {
    return;
  }
  for (const auto& b : vs.backends) {
    const uint16_t port = b.address.port();
    if (port != 0 && (vs.ports.size() != 1 || port != vs.ports[0])) {
      file.error(backends->key_mark, "backends: with forwarding " +
                                         std::string(nameOf(kForwardings, vs.forwarding)) +
                                         " a backend listens on the VIP's port; " +
                                         b.address.toString() + " names another");
      return;
    }
  }
}

// The backend (address, port) pairs a service sends to: a backend without a port gets each of
// the service's ports.
std::set<std::pair<std::string, uint16_t>> backendPorts(const VirtualService& vs) {
  std::set<std::pair<std::string, uint16_t>> out;
  for (const auto& b : vs.backends) {
    if (b.address.port() != 0) {
      out.emplace(b.address.hostString(), b.address.port());
      continue;
    }
    for (const uint16_t p : vs.ports) {
      out.emplace(b.address.hostString(), p);
    }
  }
  return out;
}

// nftables masquerades by VIP . backend . protocol . port (it cannot key on the VIP's port), so
// two services on one VIP that reach one backend port must agree on snat: otherwise the one
// without it would be masqueraded too.
void checkSnatAgreement(FileReader& file, const YAML::Mark& mark, const VirtualService& vs,
                        const Config& config) {
  // Only where snat means something (other drivers and forwardings reject it on their own).
  if (vs.vip.family() == 0 || config.kernel.driver != KernelDriver::kNftables ||
      vs.forwarding != KernelForwarding::kNat) {
    return;
  }
  const std::vector<VirtualService>& earlier = config.virtual_services;
  const auto mine = backendPorts(vs);
  for (const auto& other : earlier) {
    if (other.snat == vs.snat || other.protocol != vs.protocol ||
        other.forwarding != KernelForwarding::kNat ||
        other.vip.hostString() != vs.vip.hostString()) {
      continue;
    }
    for (const auto& bp : backendPorts(other)) {
      if (mine.contains(bp)) {
        file.error(mark, "snat: virtual service \"" + vs.name + "\" and \"" + other.name + "\" (" +
                             other.source + ") share VIP " + vs.vip.hostString() + " and backend " +
                             bp.first + ":" + std::to_string(bp.second) +
                             " but not snat; masquerade is chosen per VIP and backend, so they "
                             "must agree");
        return;
      }
    }
  }
}

std::string keyText(const VirtualService& vs, uint16_t port) {
  net::SocketAddress a = vs.vip;
  a.setPort(port);
  return a.toString() + "/" + std::string(nameOf(kKernelProtocols, vs.protocol));
}

void readService(FileReader& file, const Field& item, Config& config) {
  const MapReader map(file, item, "virtual service", kServiceKeys);
  if (!map.ok()) {
    return;
  }
  VirtualService vs;
  ServiceMarks marks;
  const Location at = file.at(map.mark());
  vs.source = at.file + ":" + std::to_string(at.line);
  const Field* name_field = map.require(file, "name");
  if (name_field != nullptr) {
    assign(vs.name, readName(file, *name_field));
  }
  const Field* vip_field = map.require(file, "vip");
  if (vip_field != nullptr) {
    assign(vs.vip, readHost(file, *vip_field));
  }
  readPorts(file, map, vs);
  if (const Field* f = map.find("protocol")) {
    assign(vs.protocol, readChoice<KernelProtocol>(file, *f, kKernelProtocols));
  }
  if (const Field* f = map.find("scheduler")) {
    const auto s = readChoice<KernelScheduler>(file, *f, kSchedulers);
    assign(vs.scheduler, s);
    marks.scheduler = s ? f : nullptr;
  }
  if (const Field* f = map.find("forwarding")) {
    const auto fw = readChoice<KernelForwarding>(file, *f, kForwardings);
    assign(vs.forwarding, fw);
    marks.forwarding = fw ? f : nullptr;
  }
  if (const Field* f = map.find("snat")) {
    const auto snat = readBool(file, *f);
    assign(vs.snat, snat);
    marks.snat = snat ? f : nullptr;
  }
  if (const Field* f = map.find("persistence")) {
    const auto p = readDuration(file, *f, /*positive=*/false);
    if (p && (*p > kMaxPersistence || *p % std::chrono::seconds(1) != Duration::zero())) {
      file.error(f->valueMark(), "persistence: expected whole seconds up to " +
                                     formatDuration(kMaxPersistence) + ", got " +
                                     formatDuration(*p));
    } else if (p) {
      vs.persistence = *p;
      marks.persistence = f;
    }
  }
  const Field* backends = map.find("backends");
  marks.backends = backends;
  if (backends != nullptr) {
    readBackends(file, *backends, vs);
  } else {
    file.error(map.mark(), "virtual service \"" + vs.name + "\" has no backends");
  }
  auto hc = std::make_shared<HealthCheck>();
  if (const Field* f = map.find("health_check")) {
    readHealthCheck(file, *f, *hc, {.allow_exec = config.allow_exec_checks});
  }
  vs.health_check = std::move(hc);
  if (marks.snat != nullptr && vs.snat && vs.forwarding != KernelForwarding::kNat) {
    file.error(marks.snat->key_mark, "snat: only with forwarding nat");
  }
  checkDirectPorts(file, backends, vs);
  checkForDriver(file, vs, marks, config.kernel.driver);

  // Names and VIP:port/protocol are unique over every file of the load.
  if (name_field != nullptr && !vs.name.empty()) {
    for (const auto& other : config.virtual_services) {
      if (other.name == vs.name) {
        file.error(name_field->valueMark(), "name: duplicate virtual service \"" + vs.name +
                                                "\" (first defined at " + other.source + ")");
        break;
      }
    }
  }
  if (vip_field != nullptr && vs.vip.family() != 0) {
    for (const uint16_t port : vs.ports) {
      for (const auto& other : config.virtual_services) {
        if (other.vip == vs.vip && other.protocol == vs.protocol &&
            std::find(other.ports.begin(), other.ports.end(), port) != other.ports.end()) {
          file.error(vip_field->valueMark(), "vip: " + keyText(vs, port) +
                                                 " is already served by virtual service \"" +
                                                 other.name + "\" (" + other.source + ")");
        }
      }
    }
  }
  checkSnatAgreement(file,
                     marks.snat != nullptr
                         ? marks.snat->key_mark
                         : (vip_field != nullptr ? vip_field->valueMark() : map.mark()),
                     vs, config);
  config.virtual_services.push_back(std::move(vs));
}

void readVipGate(FileReader& file, const Field& field, VipGate& gate) {
  const MapReader map(file, field, "vip_gate", kVipGateKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.require(file, "addresses")) {
    const auto items = listItems(file, *f, "address");
    for (const auto& item : items) {
      if (const auto a = readHost(file, item)) {
        if (std::find(gate.addresses.begin(), gate.addresses.end(), *a) != gate.addresses.end()) {
          file.error(item.valueMark(), "addresses: " + a->hostString() + " is listed twice");
          continue;
        }
        gate.addresses.push_back(*a);
      }
    }
    if (items.empty() && (f->value.IsNull() || f->value.IsSequence())) {
      file.error(f->valueMark(), "addresses: expected at least one address");
    }
  }
  if (const Field* f = map.find("on_standby")) {
    assign(gate.on_standby, readChoice<OnStandby>(file, *f, kOnStandby));
  }
}

void readKernel(FileReader& file, const Field& field, Config& config) {
  if (config.kernel.present) {
    file.error(field.key_mark, "kernel: already set by another file of this configuration");
    return;
  }
  const MapReader map(file, field, "kernel", kKernelKeys);
  if (!map.ok()) {
    return;
  }
  KernelSettings& k = config.kernel;
  k.present = true;
  if (const Field* f = map.find("driver")) {
    const auto d = readChoice<KernelDriver>(file, *f, kDrivers);
    // Services read from earlier files were checked against the default driver.
    if (d && *d != k.driver && !config.virtual_services.empty()) {
      file.error(f->valueMark(),
                 "driver: " + std::string(driverName(*d)) +
                     " is set after virtual services were read (they were checked for " +
                     std::string(driverName(k.driver)) +
                     "); set kernel: in the top file, before any include");
    }
    assign(k.driver, d);
  }
  if (const Field* f = map.find("reconcile_interval")) {
    const auto d = readDuration(file, *f, /*positive=*/true);
    if (d && (*d < kMinReconcileInterval || *d > kMaxReconcileInterval)) {
      file.error(f->valueMark(),
                 "reconcile_interval: expected " + formatDuration(kMinReconcileInterval) + " to " +
                     formatDuration(kMaxReconcileInterval) + ", got " + formatDuration(*d));
    } else {
      assign(k.reconcile_interval, d);
    }
  }
  if (const Field* f = map.find("vip_gate")) {
    readVipGate(file, *f, k.vip_gate);
  }
}

}  // namespace

void readKernelSections(FileReader& file, const MapReader& top, Config& config) {
  // kernel: first, so this file's services are checked against this file's driver.
  if (const Field* f = top.find("kernel")) {
    readKernel(file, *f, config);
  }
  if (const Field* f = top.find("virtual_services")) {
    for (const auto& item : listItems(file, *f, "virtual service")) {
      readService(file, item, config);
    }
  }
}

}  // namespace ballast::config
