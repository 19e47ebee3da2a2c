// src/kernel/diff.cpp — desired vs observed, service by service and backend by backend.
#include "kernel/diff.h"

#include <map>
#include <string_view>
#include <utility>

namespace ballast::kernel {
namespace {

std::string addressText(const net::SocketAddress& a) {
  return a.port() == 0 ? a.hostString() : a.toString();
}

std::string serviceLine(char sign, const ServiceState& s) {
  std::string ports;
  for (const uint16_t p : s.ports) {
    ports += (ports.empty() ? "" : ",") + std::to_string(p);
  }
  std::string line = std::string(1, sign) + " service " + s.identity() + " " + s.vip.hostString() +
                     ":" + ports + "/" + std::string(protocolName(s.protocol)) + " " +
                     std::string(schedulerName(s.scheduler)) + " " +
                     std::string(forwardingName(s.forwarding));
  if (s.snat) {
    line += " snat";
  }
  if (s.persistence_s > 0) {
    line += " persistence " + std::to_string(s.persistence_s) + "s";
  }
  line += " backends " + std::to_string(s.backends.size());
  return line;
}

bool sameAttributes(const ServiceState& a, const ServiceState& b) {
  return a.vip == b.vip && a.ports == b.ports && a.protocol == b.protocol &&
         a.scheduler == b.scheduler && a.forwarding == b.forwarding && a.snat == b.snat &&
         a.persistence_s == b.persistence_s && a.intact && b.intact;
}

const char* kindName(ServiceChange::Kind k) {
  switch (k) {
    case ServiceChange::Kind::kAdd:
      return "add";
    case ServiceChange::Kind::kRemove:
      return "remove";
    case ServiceChange::Kind::kUpdate:
      return "update";
  }
  return "?";
}

nlohmann::json destinationsJson(const std::vector<Destination>& ds) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : ds) {
    out.push_back({{"address", addressText(d.address)}, {"weight", d.weight}});
  }
  return out;
}

}  // namespace

Diff diff(const KernelState& desired, const KernelState& observed) {
  Diff out;
  // With nothing to serve, a missing or broken scaffold needs no repair.
  out.repair_scaffold = !observed.scaffold_intact && !desired.services.empty();
  std::map<std::string, const ServiceState*> seen;
  for (const auto& s : observed.services) {
    seen.emplace(s.identity(), &s);
  }
  for (const auto& want : desired.services) {
    const auto it = seen.find(want.identity());
    if (it == seen.end()) {
      out.changes.push_back({.kind = ServiceChange::Kind::kAdd, .desired = want});
      continue;
    }
    const ServiceState& have = *it->second;
    seen.erase(it);
    if (want == have) {
      continue;
    }
    ServiceChange change{.kind = ServiceChange::Kind::kUpdate, .desired = want, .observed = have};
    change.attributes_changed = !sameAttributes(want, have);
    // Backends are sorted in both (canonical states): one merge pass.
    std::map<std::string, const Destination*> had;
    for (const auto& d : have.backends) {
      had.emplace(d.address.toString(), &d);
    }
    for (const auto& d : want.backends) {
      const auto h = had.find(d.address.toString());
      if (h == had.end()) {
        change.added.push_back(d);
        continue;
      }
      if (h->second->weight != d.weight) {
        change.reweighted.push_back(d);
      }
      had.erase(h);
    }
    for (const auto& [key, d] : had) {
      change.removed.push_back(*d);
    }
    out.changes.push_back(std::move(change));
  }
  for (const auto& s : observed.services) {
    if (seen.contains(s.identity())) {
      out.changes.push_back({.kind = ServiceChange::Kind::kRemove, .observed = s});
    }
  }
  return out;
}

size_t Diff::count(ServiceChange::Kind kind) const {
  size_t n = 0;
  for (const auto& c : changes) {
    n += c.kind == kind ? 1 : 0;
  }
  return n;
}

std::vector<std::string> Diff::describe() const {
  std::vector<std::string> lines;
  if (repair_scaffold) {
    lines.emplace_back("~ base objects (table, chains, dispatch rules) created or repaired");
  }
  for (const auto& c : changes) {
    switch (c.kind) {
      case ServiceChange::Kind::kAdd:
        lines.push_back(serviceLine('+', c.desired));
        for (const auto& d : c.desired.backends) {
          lines.push_back("    + backend " + addressText(d.address) + " weight " +
                          std::to_string(d.weight));
        }
        break;
      case ServiceChange::Kind::kRemove:
        lines.push_back(serviceLine('-', c.observed));
        break;
      case ServiceChange::Kind::kUpdate:
        lines.push_back(serviceLine('~', c.desired));
        if (c.attributes_changed) {
          lines.push_back(!c.observed.intact
                              ? "    ~ damaged objects rewritten"
                              : "    ~ was " + serviceLine(' ', c.observed).substr(2));
        }
        for (const auto& d : c.added) {
          lines.push_back("    + backend " + addressText(d.address) + " weight " +
                          std::to_string(d.weight));
        }
        for (const auto& d : c.removed) {
          lines.push_back("    - backend " + addressText(d.address));
        }
        for (const auto& d : c.reweighted) {
          lines.push_back("    ~ backend " + addressText(d.address) + " weight " +
                          std::to_string(d.weight));
        }
        break;
    }
  }
  return lines;
}

nlohmann::json Diff::toJson() const {
  nlohmann::json changes_json = nlohmann::json::array();
  for (const auto& c : changes) {
    nlohmann::json j = {{"change", kindName(c.kind)}};
    if (c.kind == ServiceChange::Kind::kRemove) {
      j["service"] = c.observed.identity();
    } else {
      j["service"] = c.desired.identity();
    }
    if (c.kind == ServiceChange::Kind::kUpdate) {
      j["attributes_changed"] = c.attributes_changed;
      j["backends_added"] = destinationsJson(c.added);
      j["backends_removed"] = destinationsJson(c.removed);
      j["backends_reweighted"] = destinationsJson(c.reweighted);
    } else if (c.kind == ServiceChange::Kind::kAdd) {
      j["backends"] = destinationsJson(c.desired.backends);
    }
    changes_json.push_back(std::move(j));
  }
  return {{"repair_scaffold", repair_scaffold}, {"changes", std::move(changes_json)}};
}

}  // namespace ballast::kernel
