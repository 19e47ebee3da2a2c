// src/kernel/desired_state.cpp — one ServiceState per virtual service, health applied.
#include "kernel/desired_state.h"

#include <chrono>

namespace ballast::kernel {

KernelState desiredState(const config::Config& config, const BackendUpFn& up,
                         const std::set<std::string>* only) {
  KernelState state;
  state.services.reserve(only != nullptr ? only->size() : config.virtual_services.size());
  for (const auto& vs : config.virtual_services) {
    if (only != nullptr && !only->contains(vs.name)) {
      continue;
    }
    ServiceState s;
    s.name = vs.name;
    s.vip = vs.vip;
    s.ports = vs.ports;
    s.protocol = vs.protocol;
    s.scheduler = vs.scheduler;
    s.forwarding = vs.forwarding;
    s.snat = vs.snat;
    s.persistence_s = static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(vs.persistence).count());
    s.backends.reserve(vs.backends.size());
    for (const auto& b : vs.backends) {
      const bool is_up = !up || up(vs.name, b.address);
      s.backends.push_back({b.address, is_up ? b.weight : 0});
    }
    state.services.push_back(std::move(s));
  }
  state.canonicalize();
  return state;
}

}  // namespace ballast::kernel
