// src/kernel/ipvs_driver.cpp — KernelState ⇄ IPVS services and destinations (see ipvs_driver.h).
#include "kernel/ipvs_driver.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

namespace ballast::kernel {
namespace {

const char* ipvsScheduler(config::KernelScheduler s) {
  switch (s) {
    case config::KernelScheduler::kRr:
      return "rr";
    case config::KernelScheduler::kWrr:
      return "wrr";
    case config::KernelScheduler::kHash:
    case config::KernelScheduler::kSh:
      return "sh";
    case config::KernelScheduler::kLc:
      return "lc";
    case config::KernelScheduler::kWlc:
      return "wlc";
    case config::KernelScheduler::kMh:
      return "mh";
  }
  return "wrr";
}

// Ballast takes a backend out by weight 0 (health, drain). mh alone needs a flag for that to
// mean "others take its clients" rather than "its clients are dropped".
uint32_t schedulerFlags(config::KernelScheduler s) {
  return s == config::KernelScheduler::kMh ? kIpvsMhFallback : 0;
}

std::optional<config::KernelScheduler> fromIpvsScheduler(const std::string& name) {
  using S = config::KernelScheduler;
  static const std::map<std::string, S, std::less<>> kByName = {{"rr", S::kRr},   {"wrr", S::kWrr},
                                                                {"sh", S::kSh},   {"lc", S::kLc},
                                                                {"wlc", S::kWlc}, {"mh", S::kMh}};
  const auto it = kByName.find(name);
  if (it == kByName.end()) {
    return std::nullopt;
  }
  return it->second;
}

IpvsForward ipvsForward(config::KernelForwarding f) {
  switch (f) {
    case config::KernelForwarding::kNat:
      return IpvsForward::kMasq;
    case config::KernelForwarding::kDr:
      return IpvsForward::kDirectRoute;
    case config::KernelForwarding::kTunnel:
      return IpvsForward::kTunnel;
  }
  return IpvsForward::kMasq;
}

std::optional<config::KernelForwarding> fromIpvsForward(IpvsForward f) {
  switch (f) {
    case IpvsForward::kMasq:
      return config::KernelForwarding::kNat;
    case IpvsForward::kDirectRoute:
      return config::KernelForwarding::kDr;
    case IpvsForward::kTunnel:
      return config::KernelForwarding::kTunnel;
    case IpvsForward::kLocal:
    case IpvsForward::kBypass:
      break;
  }
  return std::nullopt;
}

uint32_t hostNetmask(uint16_t af) {
  return af == AF_INET6 ? kIpvsNetmaskV6Host : kIpvsNetmaskV4Host;
}

int errnoOf(const core::Result<core::Ok>& r) { return r ? 0 : r.error().sys_errno; }

core::Error failed(std::string_view what) { return core::Error{core::Errc::kSystem, what}; }

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : "; ") + p;
  }
  return out;
}

}  // namespace

IpvsDriver::IpvsDriver(std::unique_ptr<IpvsClient> client, std::string state_path)
    : client_(std::move(client)), state_path_(std::move(state_path)) {}

// --- conversions -------------------------------------------------------------------------------

std::optional<ServiceState> IpvsDriver::toState(const IpvsService& s,
                                                const std::vector<IpvsDest>& dests) {
  if (s.fwmark != 0 || (s.protocol != IPPROTO_TCP && s.protocol != IPPROTO_UDP)) {
    return std::nullopt;
  }
  ServiceState st;
  st.vip = s.address;
  st.vip.setPort(0);
  st.ports = {s.address.port()};
  st.protocol =
      s.protocol == IPPROTO_UDP ? config::KernelProtocol::kUdp : config::KernelProtocol::kTcp;
  if (auto sched = fromIpvsScheduler(s.scheduler)) {
    st.scheduler = *sched;
  } else {
    st.intact = false;
  }
  if ((s.flags & ~static_cast<uint32_t>(IP_VS_SVC_F_PERSISTENT)) != schedulerFlags(st.scheduler) ||
      (s.persistent() && s.netmask != hostNetmask(s.af))) {
    st.intact = false;  // one-packet, scheduler flags or a netmask set by hand, or mh's missing
  }
  st.persistence_s = s.persistent() ? s.timeout_s : 0;
  st.forwarding = config::KernelForwarding::kNat;
  for (size_t i = 0; i < dests.size(); ++i) {
    const IpvsDest& d = dests[i];
    auto fwd = fromIpvsForward(d.forward);
    if (!fwd || (i > 0 && *fwd != st.forwarding) || d.upper_threshold != 0 ||
        d.lower_threshold != 0) {
      st.intact = false;
    }
    if (fwd && i == 0) {
      st.forwarding = *fwd;
    }
    st.backends.push_back({d.address, d.weight});
  }
  return st;
}

IpvsService IpvsDriver::toService(const ServiceState& s) {
  IpvsService svc;
  svc.af = static_cast<uint16_t>(s.vip.family());
  svc.protocol = s.protocol == config::KernelProtocol::kUdp ? IPPROTO_UDP : IPPROTO_TCP;
  svc.address = s.vip;
  svc.address.setPort(s.ports.empty() ? 0 : s.ports.front());
  svc.scheduler = ipvsScheduler(s.scheduler);
  svc.flags = (s.persistence_s > 0 ? IP_VS_SVC_F_PERSISTENT : 0) | schedulerFlags(s.scheduler);
  svc.timeout_s = s.persistence_s;
  svc.netmask = hostNetmask(svc.af);
  return svc;
}

IpvsDest IpvsDriver::toDest(const ServiceState& s, const Destination& d) {
  IpvsDest dest;
  dest.address = d.address;
  dest.forward = ipvsForward(s.forwarding);
  dest.weight = d.weight;
  return dest;
}

void IpvsDriver::normalize(KernelState& desired) const {
  std::vector<ServiceState> out;
  for (const auto& s : desired.services) {
    for (const uint16_t port : s.ports) {
      ServiceState n = s;
      n.name.clear();
      n.ports = {port};
      n.snat = false;
      if (n.scheduler == config::KernelScheduler::kHash) {
        n.scheduler = config::KernelScheduler::kSh;
      }
      if (n.backends.empty()) {
        n.forwarding = config::KernelForwarding::kNat;  // what read() reports without dests
      }
      // DR and tunnel cannot change the port (ipvsadm forces the service's as well), and a
      // NAT backend without a port means the service's.
      std::vector<Destination> backends;
      for (Destination b : n.backends) {
        if (n.forwarding != config::KernelForwarding::kNat || b.address.port() == 0) {
          b.address.setPort(port);
        }
        const bool dup = std::any_of(backends.begin(), backends.end(),
                                     [&b](const Destination& o) { return o.address == b.address; });
        if (!dup) {
          backends.push_back(b);
        }
      }
      n.backends = std::move(backends);
      out.push_back(std::move(n));
    }
  }
  desired.services = std::move(out);
  desired.canonicalize();
}

// --- ownership ---------------------------------------------------------------------------------

bool IpvsDriver::loadOwned(std::string* error) {
  if (state_path_.empty()) {
    return true;
  }
  owned_.clear();
  std::ifstream in(state_path_);
  if (!in) {
    if (errno == ENOENT) {
      return true;  // nothing programmed since boot
    }
    *error = "cannot read " + state_path_ + ": " + std::strerror(errno);
    return false;
  }
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      owned_.insert(line);
    }
  }
  return true;
}

bool IpvsDriver::saveOwned(std::string* error) const {
  if (state_path_.empty()) {
    return true;
  }
  const auto slash = state_path_.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    ::mkdir(state_path_.substr(0, slash).c_str(), S_IRWXU | S_IRGRP | S_IXGRP | S_IROTH | S_IXOTH);
  }
  // Write then rename, so that a crash leaves the old list or the new one, never half of one.
  const std::string tmp = state_path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& id : owned_) {
      out << id << '\n';
    }
    out.flush();
    if (!out) {
      *error = "cannot write " + tmp + ": " + std::strerror(errno);
      return false;
    }
  }
  if (std::rename(tmp.c_str(), state_path_.c_str()) != 0) {
    *error = "cannot rename " + tmp + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

// --- kernel ------------------------------------------------------------------------------------

core::Result<KernelState> IpvsDriver::read(std::string* error) {
  if (!loadOwned(error)) {
    return failed("ipvs: cannot read the ownership list");
  }
  auto services = client_->listServices();
  if (!services) {
    *error = client_->lastError();
    return services.error();
  }
  KernelState state;
  std::set<std::string> found;
  for (const auto& s : *services) {
    auto bare = toState(s, {});
    if (!bare || owned_.count(bare->identity()) == 0) {
      continue;  // not Ballast's
    }
    auto dests = client_->listDests(s);
    if (!dests) {
      *error = client_->lastError();
      return dests.error();
    }
    auto st = toState(s, *dests);
    found.insert(st->identity());
    state.services.push_back(std::move(*st));
  }
  // Forget services deleted behind our back: if still configured, apply() records them again.
  owned_ = std::move(found);
  state.empty_kernel = state.services.empty();
  state.canonicalize();
  return state;
}

bool IpvsDriver::syncDests(const IpvsService& svc, const ServiceState& want,
                           std::vector<std::string>& errs) {
  auto have = client_->listDests(svc);
  if (!have) {
    errs.push_back(client_->lastError());
    return false;
  }
  bool ok = true;
  for (const auto& d : *have) {
    const bool wanted = std::any_of(want.backends.begin(), want.backends.end(),
                                    [&d](const Destination& b) { return b.address == d.address; });
    if (!wanted && !client_->deleteDest(svc, d)) {
      errs.push_back(client_->lastError());
      ok = false;
    }
  }
  for (const auto& b : want.backends) {
    const IpvsDest d = toDest(want, b);
    const auto it = std::find_if(have->begin(), have->end(),
                                 [&d](const IpvsDest& h) { return h.address == d.address; });
    if (it != have->end() && *it == d) {
      continue;
    }
    auto r = it != have->end() ? client_->updateDest(svc, d) : client_->addDest(svc, d);
    if (!r) {
      errs.push_back(client_->lastError());
      ok = false;
    }
  }
  return ok;
}

bool IpvsDriver::applyChange(const ServiceChange& c, std::vector<std::string>& errs) {
  switch (c.kind) {
    case ServiceChange::Kind::kRemove: {
      auto r = client_->deleteService(toService(c.observed));
      if (!r && errnoOf(r) != ESRCH && errnoOf(r) != ENOENT) {
        errs.push_back(client_->lastError());
        return false;
      }
      owned_.erase(c.observed.identity());
      return true;
    }
    case ServiceChange::Kind::kAdd: {
      const IpvsService svc = toService(c.desired);
      auto r = client_->addService(svc);
      if (!r && errnoOf(r) == EEXIST) {
        // Made by hand (or by a run whose record was lost): adopt it.
        if (!client_->updateService(svc)) {
          errs.push_back(client_->lastError());
          return false;
        }
        owned_.insert(c.desired.identity());
        return syncDests(svc, c.desired, errs);
      }
      if (!r) {
        errs.push_back(client_->lastError());
        return false;
      }
      owned_.insert(c.desired.identity());
      bool ok = true;
      for (const auto& b : c.desired.backends) {
        if (!client_->addDest(svc, toDest(c.desired, b))) {
          errs.push_back(client_->lastError());
          ok = false;
        }
      }
      return ok;
    }
    case ServiceChange::Kind::kUpdate: {
      const IpvsService svc = toService(c.desired);
      owned_.insert(c.desired.identity());
      if (c.attributes_changed) {
        auto r = client_->updateService(svc);
        if (!r && errnoOf(r) == ESRCH) {
          r = client_->addService(svc);  // deleted since read()
        }
        if (!r) {
          errs.push_back(client_->lastError());
          return false;
        }
        return syncDests(svc, c.desired, errs);
      }
      bool ok = true;
      for (const auto& b : c.removed) {
        auto r = client_->deleteDest(svc, toDest(c.desired, b));
        if (!r && errnoOf(r) != ENOENT) {
          errs.push_back(client_->lastError());
          ok = false;
        }
      }
      for (const auto& b : c.added) {
        const IpvsDest d = toDest(c.desired, b);
        auto r = client_->addDest(svc, d);
        if (!r && errnoOf(r) == EEXIST) {
          r = client_->updateDest(svc, d);
        }
        if (!r) {
          errs.push_back(client_->lastError());
          ok = false;
        }
      }
      for (const auto& b : c.reweighted) {
        const IpvsDest d = toDest(c.desired, b);
        auto r = client_->updateDest(svc, d);
        if (!r && errnoOf(r) == ENOENT) {
          r = client_->addDest(svc, d);
        }
        if (!r) {
          errs.push_back(client_->lastError());
          ok = false;
        }
      }
      return ok;
    }
  }
  return false;
}

core::Result<core::Ok> IpvsDriver::apply(const Diff& diff, std::string* error) {
  std::vector<std::string> errs;
  for (const auto& c : diff.changes) {
    applyChange(c, errs);
  }
  std::string save_error;
  if (!saveOwned(&save_error)) {
    errs.push_back(save_error);
  }
  if (!errs.empty()) {
    *error = join(errs);
    return failed("ipvs: some changes failed");
  }
  return core::Ok{};
}

core::Result<core::Ok> IpvsDriver::removeAll(std::string* error) {
  auto state = read(error);
  if (!state) {
    return state.error();
  }
  std::vector<std::string> errs;
  for (const auto& s : state->services) {
    auto r = client_->deleteService(toService(s));
    if (!r && errnoOf(r) != ESRCH) {
      errs.push_back(client_->lastError());
    } else {
      owned_.erase(s.identity());
    }
  }
  std::string save_error;
  if (!saveOwned(&save_error)) {
    errs.push_back(save_error);
  }
  if (!errs.empty()) {
    *error = join(errs);
    return failed("ipvs: some services could not be removed");
  }
  return core::Ok{};
}

DriverPtr makeIpvsDriver(std::string* error) {
  auto client = IpvsClient::open(error);
  if (!client) {
    return nullptr;
  }
  return std::make_unique<IpvsDriver>(std::move(*client), kIpvsStatePath);
}

}  // namespace ballast::kernel
