// src/kernel/desired_state.h — config × health → the KernelState the kernel should hold.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "config/config_types.h"
#include "kernel/kernel_state.h"

namespace ballast::kernel {

// Whether a backend of a service is up; backends found down get weight 0 (IPVS keeps them so
// their connections finish; nftables takes them out of the map).
using BackendUpFn = std::function<bool(const std::string& service, const net::SocketAddress&)>;

// Canonical (sorted); not yet normalized for a driver. `up` may be empty: everything is up.
// With `only`, just the virtual services it names (a pass for a few health changes).
KernelState desiredState(const config::Config& config, const BackendUpFn& up,
                         const std::set<std::string>* only = nullptr);

}  // namespace ballast::kernel
