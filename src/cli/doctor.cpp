// src/cli/doctor.cpp — the checks and their report.
#include "cli/doctor.h"

#include <liburing.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/admin_client.h"
#include "cli/table.h"
#include "config/fd_budget.h"
#include "config/loader.h"
#include "core/socket.h"
#include "kernel/doctor_checks.h"
#include "uplink/doctor_checks.h"

namespace ballast::cli {
namespace {

using control::DoctorFinding;
using control::Severity;

std::optional<std::string> readProc(const std::string& path) {
  std::ifstream in(path);
  std::string value;
  if (!in || !std::getline(in, value)) {
    return std::nullopt;
  }
  return value;
}

void fdLimit(const config::Config* cfg, std::vector<DoctorFinding>& out) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  uint64_t needed = 0;
  if (cfg != nullptr) {
    // The server's own formula (config/fd_budget.h), with the workers it would start.
    const uint32_t workers =
        cfg->workers != 0 ? cfg->workers : std::max(1U, std::thread::hardware_concurrency());
    needed = config::socketFdsNeeded(*cfg, workers);
  }
  const uint64_t pipe_fds = config::pipeFdBudget(lim.rlim_max, needed);
  const std::string detail = "soft " + std::to_string(lim.rlim_cur) + ", hard " +
                             std::to_string(lim.rlim_max) +
                             (needed > 0 ? ", config may need " + std::to_string(needed) : "") +
                             ", splice pipes get " + std::to_string(pipe_fds);
  // ballast raises the soft limit to the hard one at start, so the hard limit is what counts.
  if (needed > lim.rlim_max) {
    out.push_back({"fd_limit", Severity::kError, detail,
                   "raise LimitNOFILE= in the unit (or ulimit -Hn), or lower max_connections"});
  } else {
    out.push_back({"fd_limit", Severity::kOk, detail, ""});
  }
}

void somaxconn(std::vector<DoctorFinding>& out) {
  const auto v = readProc("/proc/sys/net/core/somaxconn");
  constexpr long kWanted = 4096;
  if (!v) {
    return;
  }
  const long n = std::strtol(v->c_str(), nullptr, 10);  // NOLINT(readability-magic-numbers)
  if (n < kWanted) {
    out.push_back({"net.core.somaxconn", Severity::kWarn, "is " + *v,
                   "sysctl -w net.core.somaxconn=4096: accept queues overflow under bursts"});
  } else {
    out.push_back({"net.core.somaxconn", Severity::kOk, "is " + *v, ""});
  }
}

void portRange(std::vector<DoctorFinding>& out) {
  const auto v = readProc("/proc/sys/net/ipv4/ip_local_port_range");
  if (!v) {
    return;
  }
  long lo = 0;
  long hi = 0;
  std::sscanf(v->c_str(), "%ld %ld", &lo, &hi);  // NOLINT(cert-err34-c)
  constexpr long kWantedPorts = 28000;
  const std::string detail = std::to_string(lo) + "-" + std::to_string(hi) + " (" +
                             std::to_string(hi - lo + 1) + " ports per backend address)";
  if (hi - lo + 1 < kWantedPorts) {
    out.push_back({"net.ipv4.ip_local_port_range", Severity::kWarn, detail,
                   "sysctl -w net.ipv4.ip_local_port_range='1024 65535': each backend "
                   "address can take one connection per local port"});
  } else {
    out.push_back({"net.ipv4.ip_local_port_range", Severity::kOk, detail, ""});
  }
}

void ioUring(const config::Config* cfg, std::vector<DoctorFinding>& out) {
  io_uring ring{};
  constexpr unsigned kEntries = 8;
  const int rc = io_uring_queue_init(kEntries, &ring, 0);
  if (rc == 0) {
    io_uring_queue_exit(&ring);
    out.push_back({"io_uring", Severity::kOk, "available", ""});
    return;
  }
  const bool required = cfg != nullptr && cfg->io == config::IoBackend::kIoUring;
  out.push_back({"io_uring", required ? Severity::kError : Severity::kWarn,
                 std::string("unavailable: ") + std::strerror(-rc),
                 required ? "set io: auto or epoll, or allow io_uring "
                            "(sysctl kernel.io_uring_disabled=0; seccomp profile)"
                          : "ballast falls back to epoll; allow io_uring for lower CPU per "
                            "connection (sysctl kernel.io_uring_disabled=0)"});
}

void portsInUse(const config::Config& cfg, bool daemon_running, std::vector<DoctorFinding>& out) {
  for (const auto& l : cfg.listeners) {
    const bool stream = l.protocol != config::Protocol::kUdp;
    auto free = core::probeAddressFree(l.bind, stream);
    const std::string name = "listener " + l.name + " " + l.bind.toString();
    if (free) {
      out.push_back({name, Severity::kOk, "address free", ""});
    } else if (daemon_running) {
      out.push_back({name, Severity::kOk, "in use (ballast is running on this host)", ""});
    } else {
      out.push_back({name, Severity::kError,
                     std::string("in use: ") + std::strerror(free.error().sys_errno),
                     "stop what listens there (ss -ltnp) or change the bind address"});
    }
  }
}

std::string_view severityName(Severity s) {
  switch (s) {
    case Severity::kError:
      return "ERROR";
    case Severity::kWarn:
      return "warn";
    default:
      return "ok";
  }
}

}  // namespace

std::vector<DoctorFinding> proxyDoctorChecks(const config::Config* config, bool daemon_running) {
  std::vector<DoctorFinding> out;
  fdLimit(config, out);
  somaxconn(out);
  portRange(out);
  ioUring(config, out);
  if (config != nullptr) {
    portsInUse(*config, daemon_running, out);
  }
  return out;
}

int runDoctor(const std::optional<std::string>& config_path, const std::string& socket, bool json) {
  std::vector<DoctorFinding> findings;
  config::LoadResult loaded;
  if (config_path) {
    loaded = config::loadConfigFile(*config_path);
    if (!loaded.errors.empty()) {
      std::string detail = std::to_string(loaded.errors.size()) +
                           " error(s); first: " + loaded.errors.front().format();
      findings.push_back({"config " + *config_path, Severity::kError, detail,
                          "run `ballast validate -c " + *config_path + "` for every error"});
    } else {
      findings.push_back({"config " + *config_path, Severity::kOk, "valid", ""});
    }
  }
  std::string error;
  const bool running = adminRequest(socket, "GET", "/healthz", "", &error).has_value();
  findings.push_back({"daemon", Severity::kOk,
                      running ? "answering on " + socket : "not running (" + socket + ")", ""});
  const config::Config* cfg = loaded.config ? loaded.config.get() : nullptr;
  for (auto& f : proxyDoctorChecks(cfg, running)) {
    findings.push_back(std::move(f));
  }
  if (cfg != nullptr) {
    for (auto& f : kernel::kernelDoctorChecks(*cfg)) {
      findings.push_back(std::move(f));
    }
    for (auto& f : uplink::uplinkDoctorChecks(*cfg)) {
      findings.push_back(std::move(f));
    }
  }
  bool failed = false;
  for (const auto& f : findings) {
    failed = failed || f.severity == Severity::kError;
  }
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : findings) {
      list.push_back({{"check", f.check},
                      {"severity", severityName(f.severity)},
                      {"detail", f.detail},
                      {"fix", f.fix}});
    }
    std::printf("%s\n", nlohmann::json{{"findings", list}, {"ok", !failed}}.dump(2).c_str());
  } else {
    Table t({"", "CHECK", "FOUND"});
    for (const auto& f : findings) {
      t.add({std::string(severityName(f.severity)), f.check, f.detail});
    }
    t.print();
    bool any_fix = false;
    for (const auto& f : findings) {
      if (!f.fix.empty()) {
        if (!any_fix) {
          std::printf("\nFixes:\n");
          any_fix = true;
        }
        std::printf("  %s: %s\n", f.check.c_str(), f.fix.c_str());
      }
    }
  }
  return failed ? 1 : 0;
}

}  // namespace ballast::cli
