// src/bgp/frr_driver.cpp — FRR's bgpd behind the DaemonDriver interface. bgpd runs without
// zebra (-Z: it announces, it installs nothing) and without changing user (-S: it runs as
// Ballast does, so it can use the state_dir). VIPs are announced and withdrawn by talking to
// bgpd's vty socket directly, as vtysh does: one round trip per command on a socket we hold,
// with our own deadline, and no second program whose exit we would have to interpret.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "bgp/daemon_driver.h"
#include "bgp/daemon_process.h"
#include "bgp/frr_config.h"
#include "bgp/state_files.h"
#include "core/clock.h"
#include "core/fd.h"

namespace ballast::bgp {
namespace {

std::string errnoText(int e) { return std::strerror(e); }  // NOLINT(concurrency-mt-unsafe)

// Sends one command (NUL-terminated, as vtysh sends it) and reads its reply.
bool vtyRoundTrip(int fd, const std::string& command, uint64_t deadline_ms, VtyReply& reply,
                  std::string* error) {
  const std::string line = command + std::string(1, '\0');
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    *error = "send: " + errnoText(errno);
    return false;
  }
  std::string buffer;
  switch (readReplyUntil(
      fd, deadline_ms, buffer,
      [&reply](const std::string& b) { return (reply = parseVtyReply(b)).complete; }, error)) {
    case ReplyRead::kComplete:
      return true;
    case ReplyRead::kTimeout:
      *error = "no complete reply from bgpd in time to '" + command + "'";
      return false;
    case ReplyRead::kClosed:
      *error = "bgpd closed the vty socket";
      return false;
    case ReplyRead::kError:
      return false;
  }
  return false;
}

// Runs `commands` in order on one vty connection, stopping at the first refusal.
bool vtyCommands(const std::string& socket, const std::vector<VtyCommand>& commands, int timeout_ms,
                 std::string* error) {
  const uint64_t deadline = core::monotonicMs() + static_cast<uint64_t>(timeout_ms);
  const core::Fd fd = connectControlSocket(socket, "vty socket", error);
  if (!fd.valid()) {
    return false;
  }
  for (const auto& c : commands) {
    VtyReply reply;
    if (!vtyRoundTrip(fd.get(), c.text, deadline, reply, error)) {
      return false;
    }
    if (!reply.ok && !(c.tolerate_missing && isMissingNetworkReply(reply))) {
      *error = "bgpd refused '" + c.text + "' (status " + std::to_string(reply.status) +
               "): " + reply.text;
      return false;
    }
  }
  return true;
}

class FrrDriver final : public DaemonDriver {
 public:
  std::string_view name() const override { return "frr"; }
  std::string_view package() const override { return "FRR: Debian package frr"; }
  void setStateDir(const std::string& state_dir) override { paths_ = frrPaths(state_dir); }

  bool writeFiles(const config::BgpSettings& bgp, const std::vector<bool>& announced,
                  std::string* error) override {
    return writeFileAtomically(paths_.config, renderFrrConfig(bgp, announced, paths_), error);
  }

  std::vector<std::string> commandLine(const std::string& binary) const override {
    // -P 0: no TCP vty; the unix socket in --vty_socket is the only way in.
    return {binary,         "-S",       "-Z", "-f", paths_.config, "-i", paths_.pid,
            "--vty_socket", paths_.dir, "-P", "0"};
  }

  const std::string& controlSocket() const override { return paths_.socket; }
  const std::string& pidFile() const override { return paths_.pid; }
  const std::string& logFile() const override { return paths_.log; }
  // A new ASN means a new `router bgp`, and peers and timers would need a diff of the running
  // config; a restart from the rewritten bgpd.conf is simpler and exact. Sessions change only
  // on a reload that changes bgp: settings, so the short blip is acceptable.
  bool reloadsSessions() const override { return false; }

  void started(const config::BgpSettings& bgp, const std::vector<bool>& announced) override {
    told_.clear();
    for (const auto& p : announcedPrefixes(bgp, announced)) {
      told_.insert(p);
    }
  }

  bool tell(const config::BgpSettings& bgp, const std::vector<bool>& announced, int timeout_ms,
            std::string* error) override {
    const std::vector<std::string> announce = announcedPrefixes(bgp, announced);
    // Withdraw what bgpd may have been told before (VIPs since dropped from the config
    // included) and every configured VIP not wanted now: `no network` is tolerated when
    // bgpd does not have the prefix, so a half-applied earlier attempt cannot leave one behind.
    std::set<std::string> withdraw = told_;
    for (const auto& v : bgp.vips) {
      withdraw.insert(v.toString());
    }
    for (const auto& p : announce) {
      withdraw.erase(p);
    }
    const auto commands = frrAnnounceCommands(
        bgp.asn, std::vector<std::string>(withdraw.begin(), withdraw.end()), announce);
    if (!vtyCommands(paths_.socket, commands, timeout_ms, error)) {
      told_.insert(announce.begin(), announce.end());  // it may have taken some of them
      return false;
    }
    told_ = std::set<std::string>(announce.begin(), announce.end());
    return true;
  }

 private:
  static std::vector<std::string> announcedPrefixes(const config::BgpSettings& bgp,
                                                    const std::vector<bool>& announced) {
    std::vector<std::string> out;
    for (size_t i = 0; i < bgp.vips.size(); ++i) {
      if (i < announced.size() && announced[i]) {
        out.push_back(bgp.vips[i].toString());
      }
    }
    return out;
  }

  FrrPaths paths_;
  std::set<std::string> told_;  // prefixes bgpd may be announcing
};

}  // namespace

std::unique_ptr<DaemonDriver> makeFrrDriver() { return std::make_unique<FrrDriver>(); }

}  // namespace ballast::bgp
