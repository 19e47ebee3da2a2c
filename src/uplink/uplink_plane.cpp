// src/uplink/uplink_plane.cpp — the uplink plane's life: open, apply, react, stop.
#include "uplink/uplink_plane.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstring>

#include "core/log.h"
#include "uplink/nft_driver.h"
#include "uplink/programmer.h"
#include "uplink/rtnl.h"
#include "uplink/state_file.h"
#include "uplink/uplink_plane_impl.h"

namespace ballast::uplink {
namespace {

constexpr unsigned kEventGroups =
    RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_NEIGH | RTMGRP_IPV4_RULE;
// Probes of different uplinks start spread over the first interval, not all at once.
constexpr uint64_t kFirstProbeSpreadDivisor = 4;

std::string errnoText(int err) { return std::strerror(err); }  // NOLINT(concurrency-mt-unsafe)

// States in which the gateway answered recently enough; FAILED is the only bad one. Others
// (INCOMPLETE while resolving, NONE) say nothing new.
bool neighbourAnswered(uint16_t state) {
  return (state &
          (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)) != 0;
}

nlohmann::json uplinkNames(const config::Config& cfg) {
  nlohmann::json names = nlohmann::json::array();
  for (const auto& u : cfg.uplinks) {
    names.push_back(u.interface);
  }
  return names;
}

}  // namespace

ProbeCounters UplinkRuntime::probes() const {
  ProbeCounters c = probes_before;
  if (prober) {
    c.ok += prober->counters().ok;
    c.failed += prober->counters().failed;
    c.timeout += prober->counters().timeout;
  }
  return c;
}

UplinkPlane::UplinkPlane(core::EventLoop& loop, control::AuditLog& audit, std::string actor)
    : loop_(loop), audit_(audit), actor_(std::move(actor)) {
  debounce_timer_.bind(&UplinkPlane::onDebounce, this);
  hold_timer_.bind(&UplinkPlane::onHold, this);
}

UplinkPlane::~UplinkPlane() {
  core::TimerWheel::cancel(debounce_timer_);
  core::TimerWheel::cancel(hold_timer_);
  // Without stop() (a one-shot `uplinks apply`) the host stays programmed on purpose.
  if (watching_) {
    loop_.unwatch(watcher_);
  }
}

bool UplinkPlane::open(std::string* error) {
  int err = 0;
  request_ = NetlinkSocket::open(0, /*nonblocking=*/false, &err);
  if (!request_) {
    *error = "netlink socket: " + errnoText(err);
    return false;
  }
  events_ = NetlinkSocket::open(kEventGroups, /*nonblocking=*/true, &err);
  if (!events_) {
    request_.reset();
    *error = "netlink event socket: " + errnoText(err);
    return false;
  }
  return true;
}

bool UplinkPlane::apply(const config::ConfigPtr& config, std::string* error) {
  const config::Config& cfg = *config;
  if (cfg.uplinks.empty()) {
    // A reload that dropped every uplink: undo everything, as `remove` does.
    releaseHost();
    config_ = config;
    return true;
  }
  if (const std::string bad = checkTables(cfg.uplink_policy, cfg.uplinks); !bad.empty()) {
    *error = bad;
    return false;
  }
  const bool first = !watching_;
  if (request_ == nullptr && !open(error)) {
    return false;
  }
  if (!first && cfg.uplink_policy.state_file != state_path_) {
    core::LogLine(core::LogLevel::kWarn, "uplink.state_file_kept")
        .str("state_file", state_path_)
        .str("reason", "uplink_policy.state_file takes effect at the next start");
  }
  HostView view;
  if (const int rc = readHostView(*request_, &view); rc != 0) {
    *error = "reading the host's routes: " + errnoText(-rc);
    return false;
  }
  std::vector<uint32_t> tables = {cfg.uplink_policy.lb_table};
  for (size_t i = 0; i < cfg.uplinks.size(); ++i) {
    tables.push_back(uplinkTable(cfg.uplink_policy, cfg.uplinks, i));
  }
  if (const std::string bad = foreignRoutes(view, tables); !bad.empty()) {
    *error = bad;
    return false;
  }
  // Only now, with every check passed, is the host touched: the state file first.
  if (first) {
    state_path_ = cfg.uplink_policy.state_file;
    if (!takeOverHost(state_path_, error)) {
      return false;
    }
    loop_.watch(watcher_, events_->fd(), this);
    watching_ = true;
  }
  audit_.record("uplink.apply", actor_,
                config_ ? nlohmann::json{{"uplinks", uplinkNames(*config_)}} : nlohmann::json(),
                {{"uplinks", uplinkNames(cfg)}, {"lan_interfaces", cfg.lan_interfaces}});
  config_ = config;
  rebuildRuntimes(cfg);
  refresh();
  return true;
}

void UplinkPlane::rebuildRuntimes(const config::Config& cfg) {
  std::vector<std::unique_ptr<UplinkRuntime>> next;
  const auto& policy = cfg.uplink_policy;
  for (size_t i = 0; i < cfg.uplinks.size(); ++i) {
    const auto& c = cfg.uplinks[i];
    std::unique_ptr<UplinkRuntime> rt;
    for (auto& old : uplinks_) {
      if (old && old->cfg.interface == c.interface) {
        rt = std::move(old);
        break;
      }
    }
    if (rt) {
      rt->cfg = c;
      rt->health.setPolicy(policy);
    } else {
      rt = std::make_unique<UplinkRuntime>(c, policy);
    }
    rt->table = uplinkTable(policy, cfg.uplinks, i);
    rt->mark = uplinkMark(i);
    if (rt->prober) {
      rt->probes_before = rt->probes();
      rt->prober->retire();
      retired_.push_back(std::move(rt->prober));
    }
    UplinkRuntime* raw = rt.get();
    rt->prober = std::make_unique<UplinkProber>(
        loop_, c.interface, c.probe, static_cast<uint64_t>(policy.interval.count()),
        static_cast<uint64_t>(policy.timeout.count()), [this, raw](bool ok, uint64_t rtt_ms) {
          if (ok) {
            raw->last_rtt_ms = rtt_ms;
            raw->have_rtt = true;
          }
          const bool was_up = raw->health.up();
          if (raw->health.onProbe(ok, loop_.nowMs())) {
            onHealthChange(*raw, was_up);
            refresh();
          }
        });
    const uint64_t spread = static_cast<uint64_t>(policy.interval.count()) /
                            kFirstProbeSpreadDivisor * (i % kFirstProbeSpreadDivisor);
    rt->prober->start(spread + 1);
    next.push_back(std::move(rt));
  }
  for (auto& old : uplinks_) {
    if (old && old->prober) {
      old->prober->retire();
      retired_.push_back(std::move(old->prober));
    }
  }
  uplinks_ = std::move(next);
  std::erase_if(retired_, [](const auto& p) { return p->idle(); });
}

void UplinkPlane::noteNeighbour(const NeighInfo& n) {
  for (auto& u : uplinks_) {
    if (u->ifindex != n.index || u->gateway != n.addr) {
      continue;
    }
    u->neighbour_state = n.state;
    if (n.state == NUD_FAILED) {
      u->neighbour_failed = true;
    } else if (neighbourAnswered(n.state)) {
      u->neighbour_failed = false;
    }
    // Once failed, only an answer clears it (a deleted entry is not one); the prober keeps
    // asking for the gateway meanwhile.
    if (u->prober) {
      u->prober->setNudgeGateway(u->neighbour_failed);
    }
  }
}

void UplinkPlane::refresh() {
  if (stopped_ || !config_ || !watching_) {
    return;
  }
  HostView view;
  if (const int rc = readHostView(*request_, &view); rc != 0) {
    core::LogLine(core::LogLevel::kWarn, "uplink.netlink_error").str("reason", errnoText(-rc));
    return;
  }
  const uint64_t now = loop_.nowMs();
  for (auto& u : uplinks_) {
    const LinkInfo* link = view.link(u->cfg.interface);
    const int old_index = u->ifindex;
    const bool was_link_up = u->link_up;
    u->ifindex = link != nullptr ? link->index : 0;
    u->link_up = link != nullptr && link->up;
    u->source = link != nullptr ? view.primaryAddress(link->index) : 0;
    uint32_t gw = 0;
    if (u->cfg.gateway) {
      std::memcpy(&gw, u->cfg.gateway->addressBytes().data(), sizeof(gw));
    } else if (link != nullptr) {
      gw = view.learnedGateway(link->index);
    }
    if (gw != u->gateway || old_index != u->ifindex || !was_link_up) {
      u->neighbour_failed = false;  // a new link or gateway starts with a clean slate
    }
    u->gateway = gw;
    if (u->prober) {
      u->prober->setGateway(gw);
    }
    const NeighInfo* n = u->ifindex != 0 ? view.neighbour(u->ifindex, gw) : nullptr;
    noteNeighbour(n != nullptr ? *n : NeighInfo{u->ifindex, gw, NUD_NONE});
    const bool was_up = u->health.up();
    const UplinkSignals signals{.exists = link != nullptr,
                                .link_up = u->link_up,
                                .has_gateway = gw != 0,
                                .neighbour_failed = u->neighbour_failed};
    if (u->health.onSignals(signals, now)) {
      onHealthChange(*u, was_up);
    }
  }
  program(view);
  armHoldTimer();
}

void UplinkPlane::onHealthChange(UplinkRuntime& u, bool was_up) {
  const uint64_t now = loop_.nowMs();
  ++u.state_changes;
  const bool up = u.health.up();
  const std::string reason = u.health.reason(now);
  {
    // Scoped: a LogLine builds in a thread-local buffer, which the audit record's own log line
    // must not find half-written.
    core::LogLine line(up ? core::LogLevel::kInfo : core::LogLevel::kWarn,
                       up ? "uplink.up" : "uplink.down");
    line.str("uplink", u.cfg.interface);
    if (!up) {
      line.str("reason", reason)
          .unum("downs", u.health.downs())
          .unum("hold_ms", u.health.heldUntil() > now ? u.health.heldUntil() - now : 0);
    }
  }
  nlohmann::json after = {{"up", up}};
  if (!up) {
    after["reason"] = reason;
    after["hold_ms"] = u.health.heldUntil() > now ? u.health.heldUntil() - now : 0;
  }
  audit_.record("uplink.state", actor_, {{"uplink", u.cfg.interface}, {"up", was_up}},
                {{"uplink", u.cfg.interface}, {"up", up}, {"detail", after}});
}

std::vector<ResolvedUplink> UplinkPlane::resolved() const {
  std::vector<ResolvedUplink> out;
  out.reserve(uplinks_.size());
  for (const auto& u : uplinks_) {
    out.push_back({.name = u->cfg.interface,
                   .ifindex = u->ifindex,
                   .table = u->table,
                   .mark = u->mark,
                   .weight = u->cfg.weight,
                   .gateway = u->gateway,
                   .source = u->source,
                   .link_up = u->link_up,
                   .healthy = u->health.up()});
  }
  return out;
}

void UplinkPlane::program(const HostView& view) {
  const auto list = resolved();
  const auto& policy = config_->uplink_policy;
  const std::string script = buildNftScript(policy, list);
  if (script != nft_applied_ || !nftTableExists()) {
    std::string error;
    if (runNft(script, &error)) {
      nft_applied_ = script;
      core::LogLine(core::LogLevel::kInfo, "uplink.nft_applied")
          .str("table", std::string(kNftFamily) + " " + kNftTable);
    } else {
      ++program_errors_;
      core::LogLine(core::LogLevel::kError, "uplink.nft_failed").str("reason", error);
    }
  }
  Plan plan = buildPlan(policy, list, config_->lan_interfaces);
  if (programmed_ && plan == applied_ && planInPlace(plan, view)) {
    return;
  }
  if (planInPlace(plan, view)) {
    applied_ = std::move(plan);
    programmed_ = true;
    return;
  }
  std::string error;
  const int changes = programPlan(*request_, plan, view, &error);
  if (changes < 0) {
    ++program_errors_;
    core::LogLine(core::LogLevel::kError, "uplink.program_failed").str("reason", error);
  }
  nlohmann::json active = nlohmann::json::array();
  for (const auto& u : list) {
    if (u.healthy && u.link_up && u.gateway != 0 && u.ifindex != 0) {
      active.push_back(u.name);
    }
  }
  nlohmann::json before_routes = nlohmann::json::array();
  for (const auto& r : applied_.routes) {
    before_routes.push_back(toJson(r));
  }
  nlohmann::json after_routes = nlohmann::json::array();
  for (const auto& r : plan.routes) {
    after_routes.push_back(toJson(r));
  }
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& r : plan.rules) {
    rules.push_back(toJson(r));
  }
  core::LogLine(core::LogLevel::kInfo, "uplink.routes_applied")
      .str("active", active.dump())
      .num("changes", changes);
  audit_.record("uplink.routes", actor_, {{"routes", before_routes}},
                {{"routes", after_routes}, {"active", active}});
  recordApplied(state_path_, {{"routes", after_routes}, {"rules", rules}});
  applied_ = std::move(plan);
  programmed_ = true;
}

void UplinkPlane::armHoldTimer() {
  uint64_t next = 0;
  for (const auto& u : uplinks_) {
    const uint64_t h = u->health.heldUntil();
    if (h != 0 && !u->health.up() && (next == 0 || h < next)) {
      next = h;
    }
  }
  if (next == 0) {
    core::TimerWheel::cancel(hold_timer_);
    return;
  }
  const uint64_t now = loop_.nowMs();
  loop_.timers().schedule(hold_timer_, next > now ? next - now : 1);
}

void UplinkPlane::onHold(void* self) {
  auto* p = static_cast<UplinkPlane*>(self);
  const uint64_t now = p->loop_.nowMs();
  bool changed = false;
  for (auto& u : p->uplinks_) {
    const bool was_up = u->health.up();
    if (u->health.onTimer(now)) {
      p->onHealthChange(*u, was_up);
      changed = true;
    }
  }
  if (changed) {
    p->refresh();
  } else {
    p->armHoldTimer();
  }
}

void UplinkPlane::onReady(core::Watcher& /*w*/) {
  bool any = false;
  const bool complete = events_->drain([&](const nlmsghdr* nlh) {
    any = true;
    NeighInfo n;
    if (parseNeigh(nlh, &n)) {
      noteNeighbour(n);
    }
  });
  if ((any || !complete) && !debounce_timer_.armed() && config_) {
    // Not re-armed per event: a storm of events is answered within one debounce period.
    loop_.timers().schedule(debounce_timer_,
                            static_cast<uint64_t>(config_->uplink_policy.debounce.count()));
  }
}

void UplinkPlane::onDebounce(void* self) {
  auto* p = static_cast<UplinkPlane*>(self);
  std::erase_if(p->retired_, [](const auto& r) { return r->idle(); });
  p->refresh();
}

void UplinkPlane::releaseHost() {
  core::TimerWheel::cancel(debounce_timer_);
  core::TimerWheel::cancel(hold_timer_);
  for (auto& u : uplinks_) {
    if (u->prober) {
      u->prober->retire();
      retired_.push_back(std::move(u->prober));
    }
  }
  uplinks_.clear();
  if (!watching_) {
    return;
  }
  loop_.unwatch(watcher_);
  watching_ = false;
  std::string error;
  const nlohmann::json removed = restoreHost(*request_, state_path_, &error);
  if (!error.empty()) {
    core::LogLine(core::LogLevel::kError, "uplink.remove_failed").str("reason", error);
  }
  core::LogLine(core::LogLevel::kInfo, "uplink.removed")
      .unum("rules", removed["rules"].size())
      .unum("routes", removed["routes"].size());
  audit_.record("uplink.remove", actor_, nullptr, removed);
  applied_ = Plan{};
  nft_applied_.clear();
  programmed_ = false;
}

void UplinkPlane::stop() {
  stopped_ = true;
  releaseHost();
}

std::unique_ptr<control::Plane> makeUplinkPlane(const control::PlaneContext& ctx) {
  return makeUplinkPlane(ctx, "system");
}

std::unique_ptr<control::Plane> makeUplinkPlane(const control::PlaneContext& ctx,
                                                std::string actor) {
  return std::make_unique<UplinkPlane>(ctx.loop, ctx.audit, std::move(actor));
}

}  // namespace ballast::uplink
