// src/kernel/nft_driver.cpp — reads `inet ballast` as JSON and writes it as one batch of nft
// commands. Only objects named by Ballast's scheme are touched; anything else in the table is
// left alone (and reported as drift only if it breaks a service).
#include "kernel/nft_driver.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <optional>
#include <utility>

namespace ballast::kernel {
namespace {

using json = nlohmann::json;

constexpr std::string_view kChainPrefix = "svc_";
constexpr std::string_view kMapPrefix = "be_";

std::string chainName(const std::string& service) { return std::string(kChainPrefix) + service; }
std::string mapName(const std::string& service) { return std::string(kMapPrefix) + service; }

const char* ipWord(bool v6) { return v6 ? "ip6" : "ip"; }
const char* dispatchMap(bool v6) { return v6 ? "services6" : "services4"; }
// Masquerade is decided per (VIP, backend, protocol, backend port): keyed by the backend alone, a
// service without snat that shares a backend with one that has it would lose its clients'
// addresses too. (The VIP port cannot be in the key: nft 1.0.6 cannot concatenate
// `ct original proto-dst`.)
const char* snatSet(bool v6) { return v6 ? "snat_vip6" : "snat_vip4"; }
// The sets of layouts before the VIP was in the key; a scaffold repair deletes them.
constexpr std::array<const char*, 2> kLegacySnatSets = {"snat4", "snat6"};
// The snat sets' key as `nft -j` lists it.
json snatSetType(bool v6) {
  const char* addr = v6 ? "ipv6_addr" : "ipv4_addr";
  return json::array({addr, addr, "inet_proto", "inet_service"});
}

std::string addrText(const net::SocketAddress& a) { return a.hostString(); }

// A backend's port as DNAT writes it; 0 means "keep the client's destination port".
bool anyPorted(const ServiceState& s) {
  return std::any_of(s.backends.begin(), s.backends.end(),
                     [](const Destination& d) { return d.address.port() != 0; });
}

std::string mapDataType(const ServiceState& s) {
  return std::string(s.vip.isV6() ? "ipv6_addr" : "ipv4_addr") +
         (anyPorted(s) ? " . inet_service" : "");
}

// Slots per backend: weights over their gcd, scaled down past kMaxNftSlotsPerService.
std::vector<uint32_t> slotCounts(const std::vector<Destination>& backends) {
  std::vector<uint32_t> w;
  w.reserve(backends.size());
  uint32_t g = 0;
  for (const auto& b : backends) {
    w.push_back(b.weight);
    g = std::gcd(g, b.weight);
  }
  uint64_t sum = 0;
  for (auto& x : w) {
    x /= (g == 0 ? 1 : g);
    sum += x;
  }
  if (sum > kMaxNftSlotsPerService) {
    for (auto& x : w) {
      x = std::max<uint32_t>(1, static_cast<uint32_t>(uint64_t{x} * kMaxNftSlotsPerService / sum));
    }
  }
  return w;
}

// Slot order by smooth weighted round robin (NGINX's), so that numgen's sequence interleaves
// backends instead of sending runs of connections to one.
std::vector<size_t> slotOrder(const std::vector<uint32_t>& slots) {
  const auto total = std::accumulate(slots.begin(), slots.end(), int64_t{0});
  std::vector<int64_t> current(slots.size(), 0);
  std::vector<size_t> order;
  order.reserve(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) {
    size_t best = 0;
    for (size_t b = 0; b < slots.size(); ++b) {
      current[b] += slots[b];
      if (current[b] > current[best]) {
        best = b;
      }
    }
    current[best] -= total;
    order.push_back(best);
  }
  return order;
}

std::string dispatchKey(const ServiceState& s, uint16_t port) {
  return addrText(s.vip) + " . " + std::string(protocolName(s.protocol)) + " . " +
         std::to_string(port);
}

// The elements the snat set holds for a service: after DNAT, postrouting sees the backend's
// address and the port the packet now goes to, and conntrack still knows the VIP it was sent to.
std::vector<std::string> snatKeys(const ServiceState& s) {
  std::vector<std::string> keys;
  const std::string vip = addrText(s.vip) + " . ";
  const std::string proto = " . " + std::string(protocolName(s.protocol)) + " . ";
  for (const auto& b : s.backends) {
    if (b.address.port() != 0) {
      keys.push_back(vip + addrText(b.address) + proto + std::to_string(b.address.port()));
      continue;
    }
    for (const uint16_t p : s.ports) {
      keys.push_back(vip + addrText(b.address) + proto + std::to_string(p));
    }
  }
  return keys;
}

// How an element of the snat set is named in seen_ and in delete commands.
std::string snatElement(const ServiceState& s, const std::string& key) {
  return std::string(snatSet(s.vip.isV6())) + " { " + key + " }";
}

// The services a diff writes (rewrites or deletes), by name.
std::set<std::string> servicesWritten(const Diff& diff) {
  std::set<std::string> out;
  for (const auto& c : diff.changes) {
    out.insert(c.service().name);
  }
  return out;
}

// JSON helpers that never throw: nft's output is trusted in shape but checked anyway, since a
// hand-edited table can hold anything.
const json* member(const json& j, const char* key) {
  if (!j.is_object()) {
    return nullptr;
  }
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string str(const json* j) {
  return j != nullptr && j->is_string() ? j->get<std::string>() : "";
}

std::optional<uint64_t> uint(const json* j) {
  if (j != nullptr && j->is_number_unsigned()) {
    return j->get<uint64_t>();
  }
  return std::nullopt;
}

// nft prints a port as a number, or as a service name for well-known ones when not numeric
// output; we ask for numbers, but accept both.
std::optional<uint16_t> portOf(const json& j) {
  if (j.is_number_unsigned() && j.get<uint64_t>() <= UINT16_MAX) {
    return static_cast<uint16_t>(j.get<uint64_t>());
  }
  return std::nullopt;
}

std::optional<config::KernelProtocol> protocolOf(const json& j) {
  if (j == "tcp") {
    return config::KernelProtocol::kTcp;
  }
  if (j == "udp") {
    return config::KernelProtocol::kUdp;
  }
  return std::nullopt;
}

struct ParsedTable {
  bool table = false;
  std::map<std::string, json> chains;
  std::map<std::string, json> maps;
  std::map<std::string, json> sets;
  std::map<std::string, std::vector<json>> rules;  // chain → expr arrays, in order
};

bool baseChainOk(const ParsedTable& t, const std::string& chain, const char* hook,
                 std::initializer_list<const char*> needles) {
  const auto c = t.chains.find(chain);
  if (c == t.chains.end() || str(member(c->second, "hook")) != hook ||
      str(member(c->second, "type")) != "nat") {
    return false;
  }
  const auto r = t.rules.find(chain);
  if (r == t.rules.end() || r->second.size() != needles.size()) {
    return false;
  }
  size_t i = 0;
  for (const char* needle : needles) {
    if (r->second[i++].dump().find(needle) == std::string::npos) {
      return false;
    }
  }
  return true;
}

// The one rule of a service chain: scheduler, N and the map it reads; nullopt if it is not
// Ballast's shape.
struct ServiceRule {
  bool drop = false;
  config::KernelScheduler scheduler = config::KernelScheduler::kWrr;
  uint64_t mod = 0;
  std::string map;
  std::string family;
  std::optional<config::KernelProtocol> protocol;
};

std::optional<ServiceRule> parseServiceRule(const json& expr) {
  ServiceRule out;
  if (!expr.is_array()) {
    return std::nullopt;
  }
  if (expr.size() == 1 && member(expr[0], "drop") != nullptr) {
    out.drop = true;
    return out;
  }
  if (expr.size() != 2) {
    return std::nullopt;
  }
  const json* match = member(expr[0], "match");
  const json* right = match != nullptr ? member(*match, "right") : nullptr;
  if (right == nullptr || (out.protocol = protocolOf(*right)) == std::nullopt) {
    return std::nullopt;
  }
  const json* dnat = member(expr[1], "dnat");
  const json* addr = dnat != nullptr ? member(*dnat, "addr") : nullptr;
  const json* map = addr != nullptr ? member(*addr, "map") : nullptr;
  const json* key = map != nullptr ? member(*map, "key") : nullptr;
  if (key == nullptr) {
    return std::nullopt;
  }
  out.family = str(member(*dnat, "family"));
  out.map = str(member(*map, "data"));
  if (const json* ng = member(*key, "numgen")) {
    if (str(member(*ng, "mode")) != "inc" || uint(member(*ng, "offset")).value_or(0) != 0) {
      return std::nullopt;
    }
    out.scheduler = config::KernelScheduler::kWrr;
    out.mod = uint(member(*ng, "mod")).value_or(0);
  } else if (const json* jh = member(*key, "jhash")) {
    out.scheduler = config::KernelScheduler::kHash;
    out.mod = uint(member(*jh, "mod")).value_or(0);
    const json* hexpr = member(*jh, "expr");
    const json* payload = hexpr != nullptr ? member(*hexpr, "payload") : nullptr;
    if (payload == nullptr || str(member(*payload, "field")) != "saddr") {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  return out;
}

}  // namespace

NftDriver::NftDriver(std::string table) : table_(std::move(table)) { newContext(); }

void NftDriver::newContext() {
  if (ctx_ != nullptr) {
    nft_ctx_free(ctx_);
  }
  ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx_ != nullptr) {
    nft_ctx_buffer_output(ctx_);
    nft_ctx_buffer_error(ctx_);
  }
}

NftDriver::~NftDriver() {
  if (ctx_ != nullptr) {
    nft_ctx_free(ctx_);
  }
  if (nl_ != nullptr) {
    mnl_socket_close(nl_);
  }
}

std::optional<uint32_t> NftDriver::generation() {
  if (nl_ == nullptr) {
    nl_ = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (nl_ == nullptr || mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
      if (nl_ != nullptr) {
        mnl_socket_close(nl_);
        nl_ = nullptr;
      }
      return std::nullopt;
    }
  }
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = ++nl_seq_;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) {
    return std::nullopt;
  }
  const ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
  if (n <= 0) {
    return std::nullopt;
  }
  std::optional<uint32_t> gen;
  const auto* reply = reinterpret_cast<const nlmsghdr*>(buf.data());
  if (mnl_nlmsg_ok(reply, static_cast<int>(n)) && reply->nlmsg_seq == nl_seq_ &&
      reply->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN)) {
    mnl_attr_parse(
        reply, sizeof(nfgenmsg),
        [](const nlattr* attr, void* data) {
          if (mnl_attr_get_type(attr) == NFTA_GEN_ID && mnl_attr_get_payload_len(attr) >= 4) {
            *static_cast<std::optional<uint32_t>*>(data) = ntohl(mnl_attr_get_u32(attr));
          }
          return MNL_CB_OK;
        },
        &gen);
  }
  return gen;
}

bool NftDriver::run(const std::string& commands, bool json_output, std::string* output,
                    std::string* error) {
  if (ctx_ == nullptr) {
    *error = "libnftables: nft_ctx_new failed";
    return false;
  }
  // Numeric output keeps ports as numbers ("80", not "http") and protocols as names.
  nft_ctx_output_set_flags(
      ctx_, json_output ? (NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_NUMERIC_SYMBOL) : 0U);
  const int rc = nft_run_cmd_from_buffer(ctx_, commands.c_str());
  const char* out = nft_ctx_get_output_buffer(ctx_);
  const char* err = nft_ctx_get_error_buffer(ctx_);
  if (output != nullptr) {
    *output = out != nullptr ? out : "";
  }
  if (rc != 0) {
    *error = err != nullptr && *err != '\0' ? err : "nft command failed";
    while (!error->empty() && error->back() == '\n') {
      error->pop_back();
    }
    return false;
  }
  return true;
}

void NftDriver::normalize(KernelState& desired) const {
  for (auto& s : desired.services) {
    // nftables forwards by DNAT only and keeps no persistence (config refuses both otherwise).
    s.forwarding = config::KernelForwarding::kNat;
    s.persistence_s = 0;
    if (s.scheduler == config::KernelScheduler::kRr) {
      for (auto& b : s.backends) {
        b.weight = b.weight > 0 ? 1 : 0;
      }
    }
    if (s.scheduler != config::KernelScheduler::kHash) {
      s.scheduler = config::KernelScheduler::kWrr;  // numgen: what read() reports
    }
    // Weight 0 (drained or unhealthy) leaves the map; conntrack keeps its flows where they are.
    std::erase_if(s.backends, [](const Destination& d) { return d.weight == 0; });
    if (s.backends.empty()) {
      s.scheduler = config::KernelScheduler::kWrr;  // a drop rule has no scheduler to read back
      // Nothing to masquerade toward, and read() reports it so: a snat service whose backends
      // were all down used to differ from the kernel on every pass and never converge.
      s.snat = false;
    }
    if (s.ports.size() == 1) {
      for (auto& b : s.backends) {
        if (b.address.port() == 0) {
          b.address.setPort(s.ports[0]);
        }
      }
    }
    const auto slots = slotCounts(s.backends);
    for (size_t i = 0; i < s.backends.size(); ++i) {
      s.backends[i].weight = slots[i];
    }
    s.intact = true;
  }
  desired.scaffold_intact = true;
  desired.canonicalize();
}

core::Result<KernelState> NftDriver::parse(const std::string& text, std::string* error) {
  // The walk below copies nested values recursively; nft's own output nests a few levels, so
  // anything deeper is not nft's and is refused before it can exhaust the stack.
  constexpr size_t kMaxJsonDepth = 64;
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        *error = "nft JSON output nested too deeply";
        return core::Error{core::Errc::kBadInput, "unreadable nft output"};
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    *error = std::string("nft JSON output: ") + e.what();
    return core::Error{core::Errc::kBadInput, "unreadable nft output"};
  }
  const json* items = member(doc, "nftables");
  if (items == nullptr || !items->is_array()) {
    *error = "nft JSON output has no \"nftables\" array";
    return core::Error{core::Errc::kBadInput, "unreadable nft output"};
  }
  ParsedTable t;
  for (const auto& item : *items) {
    if (const json* o = member(item, "table")) {
      t.table = str(member(*o, "name")) == table_;
    } else if (const json* c = member(item, "chain")) {
      t.chains[str(member(*c, "name"))] = *c;
    } else if (const json* m = member(item, "map")) {
      t.maps[str(member(*m, "name"))] = *m;
    } else if (const json* s = member(item, "set")) {
      t.sets[str(member(*s, "name"))] = *s;
    } else if (const json* r = member(item, "rule")) {
      const json* expr = member(*r, "expr");
      t.rules[str(member(*r, "chain"))].push_back(expr != nullptr ? *expr : json::array());
    }
  }

  KernelState state;
  Seen seen;
  seen.table = t.table;
  for (const auto& [name, c] : t.chains) {
    seen.chains.insert(name);
  }
  for (const auto& [name, m] : t.maps) {
    seen.maps[name] = str(member(m, "map"));
  }
  if (!t.table) {
    state.scaffold_intact = false;
    state.empty_kernel = true;
    seen_ = std::move(seen);
    return state;
  }
  for (const char* legacy : kLegacySnatSets) {
    if (t.sets.contains(legacy)) {
      seen.legacy_sets.insert(legacy);
    }
  }
  // A set of ours by name with another key (a hand-made one, another build's): `add set` could
  // not change it and every batch would fail, so the repair deletes and makes it again.
  for (const bool v6 : {false, true}) {
    const auto it = t.sets.find(snatSet(v6));
    if (it != t.sets.end() && member(it->second, "type") != nullptr &&
        *member(it->second, "type") != snatSetType(v6)) {
      seen.legacy_sets.insert(snatSet(v6));
    }
  }
  state.scaffold_intact =
      t.maps.contains("services4") && t.maps.contains("services6") &&
      t.sets.contains(snatSet(false)) && t.sets.contains(snatSet(true)) &&
      seen.legacy_sets.empty() &&
      baseChainOk(t, "prerouting", "prerouting", {"\"@services4\"", "\"@services6\""}) &&
      baseChainOk(t, "output", "output", {"\"@services4\"", "\"@services6\""}) &&
      baseChainOk(t, "postrouting", "postrouting", {"\"@snat_vip4\"", "\"@snat_vip6\""});

  // Dispatch elements: VIP . protocol . port → jump svc_NAME.
  struct Entry {
    net::SocketAddress vip;
    config::KernelProtocol protocol;
    uint16_t port;
  };
  std::map<std::string, std::vector<Entry>> dispatch;
  bool dispatch_ok = true;  // an element we cannot read means the owner chain is damaged
  for (const char* map_name : {"services4", "services6"}) {
    const auto m = t.maps.find(map_name);
    if (m == t.maps.end()) {
      continue;
    }
    const json* elems = member(m->second, "elem");
    if (elems == nullptr || !elems->is_array()) {
      continue;
    }
    for (const auto& e : *elems) {
      const json* concat = e.is_array() && e.size() == 2 ? member(e[0], "concat") : nullptr;
      const json* jump = e.is_array() && e.size() == 2 ? member(e[1], "jump") : nullptr;
      const std::string target = jump != nullptr ? str(member(*jump, "target")) : "";
      if (concat == nullptr || !concat->is_array() || concat->size() != 3 || target.empty()) {
        dispatch_ok = false;
        continue;
      }
      const auto vip = net::SocketAddress::parse(str(&(*concat)[0]), /*allow_no_port=*/true);
      const auto proto = protocolOf((*concat)[1]);
      const auto port = portOf((*concat)[2]);
      if (!vip || !proto || !port) {
        dispatch_ok = false;
        continue;
      }
      dispatch[target].push_back({*vip, *proto, *port});
      seen.dispatch[target].push_back(std::string(map_name) + " { " + str(&(*concat)[0]) + " . " +
                                      std::string(protocolName(*proto)) + " . " +
                                      std::to_string(*port) + " }");
    }
  }
  std::set<std::string> snat_elems;
  for (const bool v6 : {false, true}) {
    const char* set_name = snatSet(v6);
    const auto s = t.sets.find(set_name);
    const json* elems = s != t.sets.end() ? member(s->second, "elem") : nullptr;
    if (elems == nullptr || !elems->is_array()) {
      continue;
    }
    for (const auto& e : *elems) {
      // VIP . backend . protocol . port
      const json* concat = member(e, "concat");
      if (concat == nullptr || !concat->is_array() || concat->size() != 4 ||
          !protocolOf((*concat)[2]) || !portOf((*concat)[3])) {
        continue;
      }
      snat_elems.insert(std::string(set_name) + " { " + str(&(*concat)[0]) + " . " +
                        str(&(*concat)[1]) + " . " +
                        std::string(protocolName(*protocolOf((*concat)[2]))) + " . " +
                        std::to_string(*portOf((*concat)[3])) + " }");
    }
  }

  // Services: every svc_ chain, and every be_ map whose chain is gone (damaged: rewritten or
  // removed by the next apply).
  std::set<std::string> names;
  for (const auto& [chain, c] : t.chains) {
    if (chain.starts_with(kChainPrefix)) {
      names.insert(chain.substr(kChainPrefix.size()));
    }
  }
  for (const auto& [map, m] : t.maps) {
    if (map.starts_with(kMapPrefix)) {
      names.insert(map.substr(kMapPrefix.size()));
    }
  }
  for (const auto& name : names) {
    ServiceState s;
    s.name = name;
    const std::string chain = chainName(name);
    const auto entries = dispatch.find(chain);
    if (!t.chains.contains(chain) || entries == dispatch.end()) {
      s.intact = false;
    } else {
      s.vip = entries->second.front().vip;
      s.protocol = entries->second.front().protocol;
      for (const auto& e : entries->second) {
        if (!(e.vip == s.vip) || e.protocol != s.protocol) {
          s.intact = false;
        }
        s.ports.push_back(e.port);
      }
    }
    const auto rules = t.rules.find(chain);
    std::optional<ServiceRule> rule;
    if (rules != t.rules.end() && rules->second.size() == 1) {
      rule = parseServiceRule(rules->second.front());
    }
    const auto map = t.maps.find(mapName(name));
    if (!rule || map == t.maps.end()) {
      s.intact = false;
    } else if (!rule->drop) {
      s.scheduler = rule->scheduler;
      const bool v6 = s.vip.isV6();
      if (rule->map != "@" + mapName(name) || rule->family != ipWord(v6) ||
          rule->protocol != s.protocol) {
        s.intact = false;
      }
      // Slots 0..mod-1, each present once; a backend's weight is its number of slots.
      const json* elems = member(map->second, "elem");
      // A modulus Ballast never writes (from the kernel or a hand edit) is damage, refused
      // before it sizes an allocation.
      const bool mod_ok = rule->mod != 0 && rule->mod <= kMaxNftSlotsPerService;
      if (!mod_ok) {
        s.intact = false;
        elems = nullptr;
      }
      std::vector<bool> keys(mod_ok ? rule->mod : 0, false);
      size_t count = 0;
      std::map<std::string, size_t> index;
      if (elems != nullptr && elems->is_array()) {
        for (const auto& e : *elems) {
          const auto key = e.is_array() && e.size() == 2 ? uint(&e[0]) : std::nullopt;
          if (!key || *key >= rule->mod || keys[*key]) {
            s.intact = false;
            continue;
          }
          keys[*key] = true;
          ++count;
          std::optional<net::SocketAddress> address;
          if (const json* concat = member(e[1], "concat")) {
            if (concat->is_array() && concat->size() == 2 && portOf((*concat)[1])) {
              address = net::SocketAddress::parse(str(&(*concat)[0]), true);
              if (address) {
                address->setPort(*portOf((*concat)[1]));
              }
            }
          } else {
            address = net::SocketAddress::parse(str(&e[1]), true);
          }
          if (!address || address->family() != s.vip.family()) {
            s.intact = false;
            continue;
          }
          const auto [it, inserted] = index.emplace(address->toString(), s.backends.size());
          if (inserted) {
            s.backends.push_back({*address, 1});
          } else {
            ++s.backends[it->second].weight;
          }
        }
      }
      if (count != rule->mod || rule->mod == 0) {
        s.intact = false;
      }
    } else if (member(map->second, "elem") != nullptr) {
      s.intact = false;  // a drop rule with backends left in its map
    }
    if (!dispatch_ok) {
      s.intact = s.intact && entries != dispatch.end();
    }
    // snat: every (VIP, backend, port) of the service in the set, or none of them.
    size_t present = 0;
    const auto keys = snatKeys(s);
    for (const auto& k : keys) {
      const std::string elem = snatElement(s, k);
      if (snat_elems.contains(elem)) {
        ++present;
        seen.snat[name].insert(elem);
      }
    }
    s.snat = !keys.empty() && present == keys.size();
    if (present != 0 && present != keys.size()) {
      s.intact = false;
    }
    state.services.push_back(std::move(s));
  }
  // Elements no service claims: a service whose dispatch was damaged (its VIP unknown, so its
  // keys cannot be built), one removed by hand, or a hand edit. Left alone they would masquerade
  // a later service on that VIP and backend: the scaffold repair deletes those no service needs.
  for (const auto& [service, elems] : seen.snat) {
    for (const auto& e : elems) {
      snat_elems.erase(e);
    }
  }
  seen.orphan_snat = std::move(snat_elems);
  if (!seen.orphan_snat.empty()) {
    state.scaffold_intact = false;
  }
  state.canonicalize();
  seen_ = std::move(seen);
  return state;
}

core::Result<KernelState> NftDriver::read(std::string* error) {
  // Asked before listing: a change between the two shows up as a new generation next time.
  const auto gen = generation();
  if (gen && cached_generation_ == gen) {
    ++skipped_reads_;
    return cached_;
  }
  cached_generation_.reset();
  ++full_reads_;
  auto state = readTable(error);
  if (state && gen) {
    cached_ = *state;
    cached_generation_ = gen;
  }
  return state;
}

core::Result<KernelState> NftDriver::readTable(std::string* error) {
  std::string output;
  const bool listed = run("list table inet " + table_, /*json_output=*/true, &output, error);
  // libnftables keeps the listing's cache (every element: megabytes at 22,000) until its next
  // command, which with reads skipped may be long after. A new context frees it now.
  newContext();
  if (!listed) {
    // No table is the normal state before the first apply (and after `disable`).
    if (error->find("No such file or directory") != std::string::npos) {
      error->clear();
      return parse(R"({"nftables": []})", error);
    }
    return core::Error{core::Errc::kSystem, "nft list table failed"};
  }
  return parse(output, error);
}

void NftDriver::serviceCommands(const ServiceState* desired, const std::string& removed,
                                std::set<std::string>& deleted, std::string& out) const {
  const std::string& name = desired != nullptr ? desired->name : removed;
  const std::string chain = chainName(name);
  const std::string map = mapName(name);
  const std::string t = "inet " + table_ + " ";
  // Old dispatch and snat elements go first: a chain cannot be deleted while a verdict map
  // jumps to it, and a changed VIP or port must not keep its old entry.
  if (const auto it = seen_.dispatch.find(chain); it != seen_.dispatch.end()) {
    for (const auto& e : it->second) {
      out += "delete element " + t + e + "\n";
    }
  }
  // Two services on one VIP may share a snat element: delete it once per batch.
  if (const auto it = seen_.snat.find(name); it != seen_.snat.end()) {
    for (const auto& e : it->second) {
      if (deleted.insert(e).second) {
        out += "delete element " + t + e + "\n";
      }
    }
  }
  const bool chain_exists = seen_.chains.contains(chain);
  const auto map_it = seen_.maps.find(map);
  if (chain_exists) {
    out += "flush chain " + t + chain + "\n";
  }
  if (desired == nullptr) {
    if (chain_exists) {
      out += "delete chain " + t + chain + "\n";
    }
    if (map_it != seen_.maps.end()) {
      out += "delete map " + t + map + "\n";
    }
    return;
  }
  const ServiceState& s = *desired;
  const bool v6 = s.vip.isV6();
  const std::string proto(protocolName(s.protocol));
  if (!chain_exists) {
    out += "add chain " + t + chain + "\n";
  }
  const std::string data_type = mapDataType(s);
  if (map_it != seen_.maps.end() && map_it->second == data_type) {
    out += "flush map " + t + map + "\n";
  } else {
    if (map_it != seen_.maps.end()) {
      out += "delete map " + t + map + "\n";
    }
    out += "add map " + t + map + " { typeof numgen inc mod 2 : " + ipWord(v6) + " daddr" +
           (anyPorted(s) ? " . " + proto + " dport" : "") + "; }\n";
  }
  if (s.backends.empty()) {
    // Nobody to send to: drop rather than let the VIP fall through to local sockets.
    out += "add rule " + t + chain + " drop\n";
  } else {
    std::vector<uint32_t> slots;
    slots.reserve(s.backends.size());
    for (const auto& b : s.backends) {
      slots.push_back(b.weight);
    }
    const auto order = slotOrder(slots);
    out += "add element " + t + map + " { ";
    for (size_t i = 0; i < order.size(); ++i) {
      const auto& b = s.backends[order[i]];
      out += (i == 0 ? "" : ", ") + std::to_string(i) + " : " + addrText(b.address);
      if (b.address.port() != 0) {
        out += " . " + std::to_string(b.address.port());
      }
    }
    out += " }\n";
    const std::string key = s.scheduler == config::KernelScheduler::kHash
                                ? std::string("jhash ") + ipWord(v6) + " saddr mod "
                                : std::string("numgen inc mod ");
    out += "add rule " + t + chain + " meta l4proto " + proto + " dnat " + ipWord(v6) + " to " +
           key + std::to_string(order.size()) + " map @" + map + "\n";
  }
  out += "add element " + t + dispatchMap(v6) + " { ";
  for (size_t i = 0; i < s.ports.size(); ++i) {
    out += (i == 0 ? "" : ", ") + dispatchKey(s, s.ports[i]) + " : jump " + chain;
  }
  out += " }\n";
  if (s.snat && !s.backends.empty()) {
    out += "add element " + t + snatSet(v6) + " { ";
    const auto keys = snatKeys(s);
    for (size_t i = 0; i < keys.size(); ++i) {
      out += (i == 0 ? "" : ", ") + keys[i];
    }
    out += " }\n";
  }
}

std::string NftDriver::commands(const Diff& diff) const {
  std::string out;
  const std::string t = "inet " + table_ + " ";
  if (diff.repair_scaffold || (!seen_.table && !diff.changes.empty())) {
    // `add` is idempotent for existing objects; base chains are flushed and refilled so a
    // hand-edited dispatch rule is replaced, never duplicated.
    out += "add table inet " + table_ + "\n";
    out += "add map " + t + "services4 { type ipv4_addr . inet_proto . inet_service : verdict; }\n";
    out += "add map " + t + "services6 { type ipv6_addr . inet_proto . inet_service : verdict; }\n";
    // postrouting is emptied first: a set its old rules name can then be deleted (an older
    // layout's, or one of ours with another key) and made again before the new rules name it.
    out += "add chain " + t +
           "postrouting { type nat hook postrouting priority srcnat; policy accept; }\n";
    out += "flush chain " + t + "postrouting\n";
    for (const auto& legacy : seen_.legacy_sets) {
      out += "delete set " + t + legacy + "\n";
    }
    out += "add set " + t + snatSet(false) +
           " { type ipv4_addr . ipv4_addr . inet_proto . inet_service; }\n";
    out += "add set " + t + snatSet(true) +
           " { type ipv6_addr . ipv6_addr . inet_proto . inet_service; }\n";
    struct Base {
      const char* chain;
      const char* spec;
    };
    // Output too, so that clients on this host reach the VIP like remote ones.
    for (const Base& b :
         {Base{"prerouting", "type nat hook prerouting priority dstnat; policy accept;"},
          Base{"output", "type nat hook output priority -100; policy accept;"}}) {
      out += "add chain " + t + b.chain + " { " + b.spec + " }\n";
      out += "flush chain " + t + b.chain + "\n";
      out += "add rule " + t + b.chain + " ip daddr . meta l4proto . th dport vmap @services4\n";
      out += "add rule " + t + b.chain + " ip6 daddr . meta l4proto . th dport vmap @services6\n";
    }
    out += "add rule " + t +
           "postrouting ct status dnat ct original ip daddr . ip daddr . meta l4proto . th dport "
           "@snat_vip4 masquerade\n";
    out += "add rule " + t +
           "postrouting ct status dnat ct original ip6 daddr . ip6 daddr . meta l4proto . th "
           "dport @snat_vip6 masquerade\n";
  }
  // snat elements are one per (VIP, backend, protocol, backend port), so another service on the
  // same VIP may need the one a service gives up (a service renamed, two ports of one VIP on one
  // backend): those are never deleted, whatever order the changes come in; every other goes
  // once per batch.
  const std::set<std::string> written = servicesWritten(diff);
  std::set<std::string> deleted;  // or still needed: not to be deleted
  for (const auto& [service, elems] : seen_.snat) {
    if (!written.contains(service)) {
      deleted.insert(elems.begin(), elems.end());
    }
  }
  for (const auto& c : diff.changes) {
    if (c.kind != ServiceChange::Kind::kRemove && c.desired.snat) {
      for (const auto& k : snatKeys(c.desired)) {
        deleted.insert(snatElement(c.desired, k));
      }
    }
  }
  // Elements no service claimed at the read (read() made that a scaffold repair): gone unless a
  // service in this batch takes them; not from a set this batch deletes whole.
  const bool repairing = diff.repair_scaffold || (!seen_.table && !diff.changes.empty());
  for (const auto& e : seen_.orphan_snat) {
    const std::string set_name = e.substr(0, e.find(' '));
    if (!deleted.contains(e) && !(repairing && seen_.legacy_sets.contains(set_name))) {
      out += "delete element " + t + e + "\n";
      deleted.insert(e);
    }
  }
  for (const auto& c : diff.changes) {
    if (c.kind == ServiceChange::Kind::kRemove) {
      serviceCommands(nullptr, c.observed.name, deleted, out);
    } else {
      serviceCommands(&c.desired, c.desired.name, deleted, out);
    }
  }
  return out;
}

core::Result<core::Ok> NftDriver::apply(const Diff& diff, std::string* error) {
  const std::string batch = commands(diff);
  if (batch.empty()) {
    return core::Ok{};
  }
  const auto read_generation = cached_generation_;
  cached_generation_.reset();
  if (!run(batch, /*json_output=*/false, nullptr, error)) {
    return core::Error{core::Errc::kSystem, "nft transaction failed"};
  }
  // The batch is one kernel transaction, and each commit moves the generation by one. If it
  // moved by exactly one since the read this diff came from, ours was the only commit: the
  // kernel holds the cached state with the batch applied, and the verify that follows need
  // not list every element again (330 ms at 1,000 services x 10 backends, on the thread that
  // also runs health checks). Any other writer makes it move further, and a full read runs.
  const auto now = generation();
  if (read_generation && now && *now == *read_generation + 1 && recordApplied(diff)) {
    cached_generation_ = now;
    ++recorded_applies_;
  }
  return core::Ok{};
}

bool NftDriver::recordApplied(const Diff& diff) {
  const std::set<std::string> written = servicesWritten(diff);
  // A snat element is one per (VIP, backend, protocol, backend port), so two services on one
  // VIP can name the same one, and read() counts it for every service on that VIP whose
  // backends match it. When a service
  // this batch wrote shares an element with any other (one it gave up, one it took, one another
  // service has or would match), what each holds takes a listing to know.
  std::map<std::string, std::string> mine;   // element → the written service it is about
  std::set<std::string, std::less<>> hosts;  // those services' backends' raw addresses
  const auto claim = [&](const std::string& element, const std::string& service) {
    return mine.emplace(element, service).first->second == service;
  };
  for (const auto& c : diff.changes) {
    const std::string& name = c.service().name;
    if (const auto it = seen_.snat.find(name); it != seen_.snat.end()) {
      for (const auto& e : it->second) {
        if (!claim(e, name)) {
          return false;
        }
      }
    }
    for (const ServiceState* s : {&c.observed, &c.desired}) {
      for (const auto& b : s->backends) {
        hosts.emplace(b.address.addressBytes());
      }
    }
    if (c.kind != ServiceChange::Kind::kRemove) {
      for (const auto& k : snatKeys(c.desired)) {
        if (!claim(snatElement(c.desired, k), name)) {
          return false;
        }
      }
    }
  }
  for (const auto& [service, elems] : seen_.snat) {
    if (!written.contains(service) &&
        std::any_of(elems.begin(), elems.end(), [&](const auto& e) { return mine.contains(e); })) {
      return false;
    }
  }
  // Backends in common are rare: their keys are only spelled out when the address matches.
  for (const auto& s : cached_.services) {
    if (written.contains(s.name) ||
        std::none_of(s.backends.begin(), s.backends.end(), [&](const Destination& b) {
          return hosts.contains(b.address.addressBytes());
        })) {
      continue;
    }
    for (const auto& k : snatKeys(s)) {
      if (mine.contains(snatElement(s, k))) {
        return false;
      }
    }
  }

  // Known now: record in place (the state holds 10,000 backends at the benched size).
  if (diff.repair_scaffold || (!seen_.table && !diff.changes.empty())) {
    seen_.table = true;
    seen_.legacy_sets.clear();
    for (const char* chain : {"prerouting", "output", "postrouting"}) {
      seen_.chains.insert(chain);
    }
    seen_.maps["services4"] = "verdict";
    seen_.maps["services6"] = "verdict";
    cached_.scaffold_intact = true;
    cached_.empty_kernel = false;
  }
  seen_.orphan_snat.clear();  // commands() deleted each, unless a service of the batch took it
  auto& services = cached_.services;
  for (const auto& c : diff.changes) {
    const ServiceState& gone = c.service();
    if (const auto at = cached_.find(gone); at != services.end()) {
      services.erase(at);
    }
    const std::string chain = chainName(gone.name);
    seen_.chains.erase(chain);
    seen_.maps.erase(mapName(gone.name));
    seen_.dispatch.erase(chain);
    seen_.snat.erase(gone.name);
    if (c.kind == ServiceChange::Kind::kRemove) {
      continue;
    }
    const ServiceState& s = c.desired;  // normalized, so already in read()'s canonical form
    const bool v6 = s.vip.isV6();
    seen_.chains.insert(chain);
    seen_.maps[mapName(s.name)] = mapDataType(s);
    for (const uint16_t port : s.ports) {
      seen_.dispatch[chain].push_back(std::string(dispatchMap(v6)) + " { " + dispatchKey(s, port) +
                                      " }");
    }
    if (s.snat) {
      for (const auto& k : snatKeys(s)) {
        seen_.snat[s.name].insert(snatElement(s, k));
      }
    }
    ServiceState recorded = s;
    recorded.intact = true;
    services.insert(std::lower_bound(services.begin(), services.end(), recorded, identityLess),
                    std::move(recorded));
  }
  return true;
}

core::Result<core::Ok> NftDriver::removeAll(std::string* error) {
  // add-then-delete: succeeds whether or not the table exists.
  if (!run("add table inet " + table_ + "\ndelete table inet " + table_ + "\n",
           /*json_output=*/false, nullptr, error)) {
    return core::Error{core::Errc::kSystem, "nft delete table failed"};
  }
  seen_ = Seen{};
  cached_generation_.reset();
  return core::Ok{};
}

}  // namespace ballast::kernel
