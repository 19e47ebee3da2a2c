// src/server/control_bgp.cpp — the gate of the BGP plane: which VIPs this node should announce
// now. Re-evaluated every kBgpTickMs and at once on drain, reload and stop, so a failing node's
// route goes within a tick of its health checks' verdict.
#include <string_view>

#include "bgp/gate.h"
#include "server/control_thread.h"

namespace ballast::server {
namespace {

// Health checks move backends at their own interval; this only bounds the extra delay.
constexpr uint64_t kBgpTickMs = 200;

bool poolServes(const Snapshot& snap, const std::string& name) {
  const int i = snap.poolIndex(name);
  if (i < 0) {
    return false;
  }
  for (const auto& b : snap.pools[static_cast<size_t>(i)]->backends) {
    if (b->healthy.load(std::memory_order_relaxed) && !b->drained.load(std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

// A listener serves when some pool it can send to has a backend that is up and not drained.
bool listenerServes(const Snapshot& snap, const config::Listener& l) {
  if (!l.pool.empty() && poolServes(snap, l.pool)) {
    return true;
  }
  for (const auto& r : l.http.routes) {
    if (!r.pool.empty() && poolServes(snap, r.pool)) {
      return true;
    }
  }
  for (const auto& s : l.sni) {
    if (!s.pool.empty() && poolServes(snap, s.pool)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::vector<bool> ControlThread::bgpWanted() const {
  // Drained or stopping: the listeners are closed (or about to be); the gate says no.
  std::vector<bgp::ListenerView> views;
  if (ready()) {
    for (const auto& l : snapshot_->config->listeners) {
      views.push_back({l.bind, listenerServes(*snapshot_, l)});
    }
  }
  return bgp::announceGate(bgp_plane_ ? bgp_plane_->settings() : config_->bgp, ready(), views);
}

void ControlThread::updateBgp(std::string_view why) {
  if (bgp_plane_) {
    bgp_plane_->setWanted(bgpWanted(), why);
  }
}

void ControlThread::startBgpTick() {
  bgp_tick_.bind(&ControlThread::onBgpTick, this);
  loop_->timers().schedule(bgp_tick_, kBgpTickMs);
}

void ControlThread::onBgpTick(void* self) {
  auto* t = static_cast<ControlThread*>(self);
  t->updateBgp("health");
  t->loop_->timers().schedule(t->bgp_tick_, kBgpTickMs);
}

}  // namespace ballast::server
