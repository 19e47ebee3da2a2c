// src/bgp/bird_driver.cpp — BIRD 2 behind the DaemonDriver interface: bird.conf + the managed
// vips.conf, and `configure` over BIRD's control socket to make it re-read both.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "bgp/bird_config.h"
#include "bgp/daemon_driver.h"
#include "bgp/daemon_process.h"
#include "bgp/state_files.h"
#include "core/clock.h"
#include "core/fd.h"

namespace ballast::bgp {
namespace {

std::string errnoText(int e) { return std::strerror(e); }  // NOLINT(concurrency-mt-unsafe)

// Reads until `buffer` holds a complete reply or the deadline passes.
bool readReply(int fd, uint64_t deadline_ms, std::string& buffer, BirdReply& reply,
               std::string* error) {
  switch (readReplyUntil(
      fd, deadline_ms, buffer,
      [&reply](const std::string& b) { return (reply = parseBirdReply(b)).complete; }, error)) {
    case ReplyRead::kComplete:
      return true;
    case ReplyRead::kTimeout:
      *error = "no complete reply from BIRD in time";
      return false;
    case ReplyRead::kClosed:
      *error = "BIRD closed the control socket";
      return false;
    case ReplyRead::kError:
      return false;
  }
  return false;
}

// Sends `command` over BIRD's control socket and waits for the reply, at most timeout_ms in
// all. False and *error on a refused connection, a timeout or a non-0xxx reply.
bool birdCommand(const std::string& socket, const std::string& command, int timeout_ms,
                 std::string* error) {
  const uint64_t deadline = core::monotonicMs() + static_cast<uint64_t>(timeout_ms);
  const core::Fd fd = connectControlSocket(socket, "control socket", error);
  if (!fd.valid()) {
    return false;
  }
  std::string buffer;
  BirdReply reply;
  if (!readReply(fd.get(), deadline, buffer, reply, error)) {  // the "0001 BIRD … ready." line
    return false;
  }
  buffer.clear();
  const std::string line = command + "\n";
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(line.size())) {
    *error = "send: " + errnoText(errno);
    return false;
  }
  if (!readReply(fd.get(), deadline, buffer, reply, error)) {
    return false;
  }
  if (!reply.ok) {
    *error = "BIRD answered " + std::to_string(reply.code) + " " + reply.text;
    return false;
  }
  return true;
}

class BirdDriver final : public DaemonDriver {
 public:
  std::string_view name() const override { return "bird"; }
  std::string_view package() const override { return "BIRD 2: Debian package bird2"; }
  void setStateDir(const std::string& state_dir) override { paths_ = birdPaths(state_dir); }

  bool writeFiles(const config::BgpSettings& bgp, const std::vector<bool>& announced,
                  std::string* error) override {
    return writeFileAtomically(paths_.vips, renderVipsFile(bgp, announced), error) &&
           writeFileAtomically(paths_.config, renderBirdConfig(bgp, paths_), error);
  }

  std::vector<std::string> commandLine(const std::string& binary) const override {
    return {binary, "-f", "-c", paths_.config, "-s", paths_.socket, "-P", paths_.pid};
  }

  const std::string& controlSocket() const override { return paths_.socket; }
  const std::string& pidFile() const override { return paths_.pid; }
  const std::string& logFile() const override { return paths_.log; }
  // `configure` re-reads bird.conf too, and BIRD restarts only the sessions that changed.
  bool reloadsSessions() const override { return true; }
  void started(const config::BgpSettings& /*bgp*/,
               const std::vector<bool>& /*announced*/) override {}

  bool tell(const config::BgpSettings& /*bgp*/, const std::vector<bool>& /*announced*/,
            int timeout_ms, std::string* error) override {
    return birdCommand(paths_.socket, "configure", timeout_ms, error);
  }

 private:
  BirdPaths paths_;
};

}  // namespace

std::unique_ptr<DaemonDriver> makeBirdDriver() { return std::make_unique<BirdDriver>(); }

}  // namespace ballast::bgp
