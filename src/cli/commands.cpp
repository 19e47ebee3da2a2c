// src/cli/commands.cpp — argument parsing and help for every subcommand. Hand-written so that
// each help page reads like a man page: synopsis, description, options, exit status, example.
#include "cli/commands.h"

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/config_push.h"
#include "cli/control_commands.h"
#include "cli/demo.h"
#include "cli/kernel_commands.h"
#include "cli/uplink_commands.h"
#include "config/loader.h"
#include "server/server.h"

namespace ballast::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;

constexpr std::string_view kMainHelp =
    R"(ballast — a load balancer for Linux: L4 TCP/UDP and HTTP proxy, kernel (nftables/IPVS) and uplink planes

USAGE
  ballast <command> [options]

COMMANDS
  run        Run the load balancer with a configuration file
  status     Status of the running daemon (over its admin socket)
  show       show status|config|listeners|certificates|pools|backends [POOL]|events|
             services|uplinks
  backend    backend add|remove|weight|drain|enable|disable POOL ADDRESS [WEIGHT]
  pool       pool failback POOL: back to the best failover group (failback: manual)
  cache      cache [purge KEY | purge --prefix PREFIX]: the HTTP cache
  reload     Reload the running daemon's configuration
  drain      Close every listener of the running daemon before maintenance
  shell      Interactive shell with completion and context help
  doctor     Check this host and a config for what breaks load balancers
  apply      Kernel plane: program nftables/IPVS virtual services once (or --daemon)
  disable    Kernel plane: remove every service Ballast programmed
  uplinks    Uplink plane: apply|status|remove
  demo       Three built-in HTTP backends behind 127.0.0.1:8080 (--tls: also HTTPS on :8443)
  validate   Check a configuration file and report every error with file:line:column
  config     config push FILE: validate FILE and write it to an etcd prefix in one transaction
  version    Print the version
  help       Show help for a command: ballast help <command>

OPTIONS
  -h, --help     Show this help
  -V, --version  Print the version

Run 'ballast <command> --help' for a command's options.
)";

constexpr std::string_view kRunHelp = R"(ballast run — run the load balancer

SYNOPSIS
  ballast run -c FILE [--io auto|io_uring|epoll] [--workers N] [--upgrade]

DESCRIPTION
  Loads FILE, opens every listener (one SO_REUSEPORT socket per worker), starts one worker
  thread per CPU (or `workers:` from the file) and proxies until stopped. Logs are JSON lines
  on stderr.

  Signals:
    SIGHUP            reload FILE: it is parsed and validated in full, then swapped in;
                      an invalid file is refused with its errors logged and the running
                      configuration keeps serving. Open connections are never cut.
    SIGTERM, SIGINT   graceful stop: stop accepting, let open connections finish for up to
                      `shutdown_timeout`, then close the rest.
    SIGUSR1           reopen log files (access logs, audit log) after logrotate moved them.

  The admin API listens on admin.socket (default /run/ballast/admin.sock); see
  `ballast help status`. With systemd (Type=notify) READY, RELOADING and STOPPING are sent.

OPTIONS
  -c, --config FILE   Configuration file (YAML). Required.
  --io BACKEND        Override the file's `io`: auto (io_uring, else epoll), io_uring, epoll.
  --workers N         Override the file's `workers`.
  --upgrade           Binary upgrade: take every listening socket from the daemon running on
                      admin.socket (SCM_RIGHTS), start serving on them, then let it drain and
                      exit. No connection is refused or reset on the way.
  -h, --help          Show this help.

EXIT STATUS
  0  stopped cleanly;  1  invalid configuration or could not start;  2  usage error.

EXAMPLE
  ballast run -c examples/quickstart.yaml
)";

constexpr std::string_view kValidateHelp = R"(ballast validate — check a configuration file

SYNOPSIS
  ballast validate -c FILE

DESCRIPTION
  Parses FILE and everything it includes, checks every value and cross-reference, and prints
  each problem as `file:line:column: message`, like a compiler. Nothing is started and no
  socket is opened.

OPTIONS
  -c, --config FILE   Configuration file (YAML). Required.
  -q, --quiet         Print nothing; the exit status says it all.
  -h, --help          Show this help.

EXIT STATUS
  0  valid;  1  invalid (errors printed on stderr);  2  FILE cannot be read, or a usage error.

EXAMPLE
  ballast validate -c /etc/ballast/ballast.yaml && systemctl reload ballast
)";

constexpr std::string_view kDemoHelp = R"(ballast demo — try Ballast without writing a configuration

SYNOPSIS
  ballast demo [--tls]

DESCRIPTION
  Starts three small built-in HTTP backends on 127.0.0.1 (ephemeral ports; each answers with its
  name and a request counter), prints the configuration it generated for them, and runs an HTTP
  listener on 127.0.0.1:8080 balancing them round robin. Try `curl localhost:8080` a few times.
  Ctrl-C (SIGINT) or SIGTERM stops it.

OPTIONS
  --tls   Also an HTTPS listener on 127.0.0.1:8443, with a self-signed ECDSA certificate for
          localhost, 127.0.0.1 and ::1 made at start (no domain needed; valid 7 days, deleted
          on exit). Try `curl -k https://localhost:8443`.

EXIT STATUS
  0  stopped cleanly;  1  could not start (for example, port 8080 is taken).
)";

constexpr std::string_view kVersionHelp = R"(ballast version — print the version

SYNOPSIS
  ballast version

EXIT STATUS
  0
)";

void printOut(std::string_view text) { fwrite(text.data(), 1, text.size(), stdout); }

int usageError(const std::string& message, std::string_view command) {
  const std::string hint =
      command.empty() ? "ballast --help" : "ballast " + std::string(command) + " --help";
  fprintf(stderr, "ballast: %s\nTry '%s'.\n", message.c_str(), hint.c_str());
  return kExitUsage;
}

struct Args {
  std::optional<std::string> config;
  std::optional<std::string> io;
  std::optional<std::string> workers;
  bool quiet = false;
  bool help = false;
  bool upgrade = false;
};

// Parses the options every subcommand shares; unknown ones are usage errors.
std::optional<std::string> parseArgs(int argc, char** argv, Args& args) {
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::optional<std::string>& slot) -> std::optional<std::string> {
      if (i + 1 >= argc) {
        return "option " + std::string(a) + " needs a value";
      }
      slot = argv[++i];
      return std::nullopt;
    };
    std::optional<std::string> err;
    if (a == "-c" || a == "--config") {
      err = value(args.config);
    } else if (a.starts_with("--config=")) {
      args.config = std::string(a.substr(std::strlen("--config=")));
    } else if (a == "--io") {
      err = value(args.io);
    } else if (a == "--workers") {
      err = value(args.workers);
    } else if (a == "--upgrade") {
      args.upgrade = true;
    } else if (a == "-q" || a == "--quiet") {
      args.quiet = true;
    } else if (a == "-h" || a == "--help") {
      args.help = true;
    } else {
      err = "unknown option '" + std::string(a) + "'";
    }
    if (err) {
      return err;
    }
  }
  return std::nullopt;
}

int cmdValidate(const Args& args) {
  if (!args.config) {
    return usageError("validate needs -c FILE", "validate");
  }
  const auto result = config::loadConfigFile(*args.config);
  if (!args.quiet) {
    for (const auto& e : result.errors) {
      fprintf(stderr, "%s\n", e.format().c_str());
    }
    for (auto w : result.warnings) {
      w.message = "warning: " + w.message;
      fprintf(stderr, "%s\n", w.format().c_str());
    }
  }
  if (result.unreadable) {
    return kExitUsage;
  }
  if (!result.errors.empty()) {
    if (!args.quiet) {
      fprintf(stderr, "%s: %zu error%s\n", args.config->c_str(), result.errors.size(),
              result.errors.size() == 1 ? "" : "s");
    }
    return kExitInvalid;
  }
  if (!args.quiet) {
    const auto& c = *result.config;
    std::string extra;
    if (!c.virtual_services.empty()) {
      extra += ", " + std::to_string(c.virtual_services.size()) + " virtual service" +
               (c.virtual_services.size() == 1 ? "" : "s");
    }
    if (!c.uplinks.empty()) {
      extra +=
          ", " + std::to_string(c.uplinks.size()) + " uplink" + (c.uplinks.size() == 1 ? "" : "s");
    }
    printf("%s: valid (%zu listener%s, %zu pool%s%s)\n", args.config->c_str(), c.listeners.size(),
           c.listeners.size() == 1 ? "" : "s", c.pools.size(), c.pools.size() == 1 ? "" : "s",
           extra.c_str());
  }
  return kExitOk;
}

int cmdRun(const Args& args) {
  if (!args.config) {
    return usageError("run needs -c FILE", "run");
  }
  server::RunOptions options;
  options.config_path = *args.config;
  options.upgrade = args.upgrade;
  if (args.io) {
    if (*args.io == "auto") {
      options.io = core::IoKind::kAuto;
    } else if (*args.io == "io_uring") {
      options.io = core::IoKind::kIoUring;
    } else if (*args.io == "epoll") {
      options.io = core::IoKind::kEpoll;
    } else {
      return usageError("--io must be auto, io_uring or epoll", "run");
    }
  }
  if (args.workers) {
    char* end = nullptr;
    const unsigned long n =
        strtoul(args.workers->c_str(), &end, 10);  // NOLINT(readability-magic-numbers)
    constexpr unsigned long kMaxWorkers = 1024;
    if (end == args.workers->c_str() || *end != '\0' || n == 0 || n > kMaxWorkers) {
      return usageError("--workers must be 1..1024", "run");
    }
    options.workers = static_cast<uint32_t>(n);
  }
  return server::run(options);
}

int printVersion() {
  printf("ballast %s\n", BALLAST_VERSION);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    printOut(kMainHelp);
    return kExitUsage;
  }
  const std::string_view cmd = argv[1];
  if (cmd == "-h" || cmd == "--help") {
    printOut(kMainHelp);
    return kExitOk;
  }
  if (cmd == "-V" || cmd == "--version" || cmd == "version") {
    if (argc > 2 && (std::string_view(argv[2]) == "--help" || std::string_view(argv[2]) == "-h")) {
      printOut(kVersionHelp);
      return kExitOk;
    }
    return printVersion();
  }
  if (cmd == "help") {
    const std::string_view topic = argc > 2 ? argv[2] : "";
    if (topic == "run") {
      printOut(kRunHelp);
    } else if (topic == "validate") {
      printOut(kValidateHelp);
    } else if (topic == "demo") {
      printOut(kDemoHelp);
    } else if (topic == "version") {
      printOut(kVersionHelp);
    } else if (printKernelHelp(topic)) {
      return kExitOk;
    } else if (topic == "config") {
      char help_flag[] = "--help";
      char* help_argv[] = {argv[0], argv[2], help_flag, nullptr};
      return configMain(3, help_argv);
    } else if (topic == "uplinks") {
      char help_flag[] = "--help";
      char* help_argv[] = {argv[0], argv[2], help_flag, nullptr};
      return uplinksMain(3, help_argv);
    } else if (isControlCommand(std::string(topic))) {
      char help_flag[] = "--help";
      char* help_argv[] = {argv[0], argv[2], help_flag, nullptr};
      return controlMain(3, help_argv);
    } else if (topic.empty()) {
      printOut(kMainHelp);
    } else {
      return usageError("no help for '" + std::string(topic) + "'", "");
    }
    return kExitOk;
  }
  if (cmd == "demo") {
    if (argc > 2 && (std::string_view(argv[2]) == "--help" || std::string_view(argv[2]) == "-h")) {
      printOut(kDemoHelp);
      return kExitOk;
    }
    const bool with_tls = argc > 2 && std::string_view(argv[2]) == "--tls";
    if (argc > (with_tls ? 3 : 2)) {
      return usageError("demo takes only --tls", "demo");
    }
    return runDemo(with_tls);
  }
  if (cmd == "apply" || cmd == "disable") {
    return kernelMain(argc, argv);
  }
  if (cmd == "uplinks") {
    return uplinksMain(argc, argv);
  }
  if (cmd == "config") {
    return configMain(argc, argv);
  }
  if (isControlCommand(std::string(cmd))) {
    return controlMain(argc, argv);
  }
  Args args;
  if (cmd != "run" && cmd != "validate") {
    fprintf(stderr, "ballast: unknown command '%s'\n\n", argv[1]);
    printOut(kMainHelp);
    return kExitUsage;
  }
  if (auto err = parseArgs(argc - 2, argv + 2, args)) {
    return usageError(*err, cmd);
  }
  if (args.help) {
    printOut(cmd == "run" ? kRunHelp : kValidateHelp);
    return kExitOk;
  }
  return cmd == "run" ? cmdRun(args) : cmdValidate(args);
}

}  // namespace ballast::cli
