// src/cli/config_push.cpp — argument parsing, local validation and the etcd transaction of
// `ballast config push`.
#include "cli/config_push.h"

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_source.h"
#include "config/file_text.h"
#include "etcd/etcd_kv.h"

namespace ballast::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;  // as `ballast validate`
constexpr int kExitUsage = 2;    // also: FILE cannot be read
constexpr int kExitEtcd = 3;     // no etcd endpoint took the push

constexpr std::string_view kConfigHelp = R"(ballast config — manage a configuration kept in etcd

SYNOPSIS
  ballast config push FILE --etcd URL[,URL...] --prefix PREFIX [--ca FILE]
                      [--cert FILE --key FILE] [-q]

DESCRIPTION
  Validates FILE exactly as `ballast validate` does (every error printed as
  file:line:column: message), checks that it can stand alone in etcd (no include:), then
  writes it to the key PREFIX + basename(FILE) and deletes every other key under PREFIX, in
  one etcd transaction: nodes watching PREFIX (config_source: etcd) see the whole push or
  nothing of it. Prints the etcd revision the push created. Endpoints are tried in order.

OPTIONS
  --etcd URLS       etcd v3 gateway endpoints (http:// or https://), comma-separated. Required.
  --prefix PREFIX   The key prefix the nodes watch, e.g. /ballast/prod/. Required.
  --ca FILE         PEM CA to trust for https endpoints instead of the system's store.
  --cert, --key     Client certificate and key, when etcd asks for one.
  -q, --quiet       Print only errors.
  -h, --help        Show this help.

EXIT STATUS
  0  pushed;  1  FILE is invalid (nothing written);  2  usage error or FILE cannot be read;
  3  no etcd endpoint took the transaction.

EXAMPLE
  ballast config push ballast.yaml --etcd http://127.0.0.1:2379 --prefix /ballast/prod/
)";

struct PushArgs {
  std::string file;
  std::vector<std::string> endpoints;
  std::string prefix;
  etcd::EtcdTls tls;
  bool quiet = false;
  bool help = false;
};

int usage(const std::string& message) {
  fprintf(stderr, "ballast config: %s\n(see 'ballast config --help')\n", message.c_str());
  return kExitUsage;
}

std::vector<std::string> splitComma(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const auto part = text.substr(0, comma);
    if (!part.empty()) {
      out.emplace_back(part);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::optional<std::string> parsePush(int argc, char** argv, PushArgs& args) {
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto value = [&](std::string& out) -> std::optional<std::string> {
      if (i + 1 >= argc) {
        return "option '" + std::string(a) + "' needs a value";
      }
      out = argv[++i];
      return std::nullopt;
    };
    std::optional<std::string> err;
    std::string endpoints;
    if (a == "--etcd") {
      err = value(endpoints);
      args.endpoints = splitComma(endpoints);
    } else if (a == "--prefix") {
      err = value(args.prefix);
    } else if (a == "--ca") {
      err = value(args.tls.ca);
    } else if (a == "--cert") {
      err = value(args.tls.cert);
    } else if (a == "--key") {
      err = value(args.tls.key);
    } else if (a == "-q" || a == "--quiet") {
      args.quiet = true;
    } else if (a == "-h" || a == "--help") {
      args.help = true;
    } else if (!a.starts_with('-') && args.file.empty()) {
      args.file = std::string(a);
    } else {
      err = "unexpected argument '" + std::string(a) + "'";
    }
    if (err) {
      return err;
    }
  }
  return std::nullopt;
}

std::string baseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void printErrors(const std::vector<config::ConfigError>& errors) {
  for (const auto& e : errors) {
    fprintf(stderr, "%s\n", e.format().c_str());
  }
}

int push(const PushArgs& args) {
  // First exactly what `ballast validate` checks, with errors at the file's own positions.
  const auto local = config::loadConfigFile(args.file);
  printErrors(local.errors);
  if (local.unreadable) {
    return kExitUsage;
  }
  if (!local.errors.empty()) {
    fprintf(stderr, "%s: %zu error%s; nothing pushed\n", args.file.c_str(), local.errors.size(),
            local.errors.size() == 1 ? "" : "s");
    return kExitInvalid;
  }
  std::string text;
  if (const auto err = config::readWholeFile(args.file, text)) {
    fprintf(stderr, "%s: cannot read file: %s\n", args.file.c_str(), err->c_str());
    return kExitUsage;
  }
  // Then as the nodes will read it: alone under the prefix, with no directory to include from.
  const std::string key = args.prefix + baseName(args.file);
  const auto as_etcd = config::loadConfigDocuments({{args.file, text}});
  if (!as_etcd.errors.empty()) {
    printErrors(as_etcd.errors);
    fprintf(stderr, "%s: valid here but not as one etcd key; nothing pushed\n", args.file.c_str());
    return kExitInvalid;
  }
  const std::atomic<bool> never{false};
  const etcd::EtcdHttp http(args.tls, never);
  const auto out = etcd::replacePrefix(http, args.endpoints, args.prefix, {{key, text, 0}});
  if (!out.reply) {
    fprintf(stderr, "ballast config push: %s\n", out.error.c_str());
    return kExitEtcd;
  }
  if (!args.quiet) {
    printf("pushed %s to %s at revision %lld\n", args.file.c_str(), key.c_str(),
           static_cast<long long>(out.reply->revision));
  }
  return kExitOk;
}

}  // namespace

int configMain(int argc, char** argv) {
  const std::string_view sub = argc > 2 ? argv[2] : "";
  if (sub.empty() || sub == "-h" || sub == "--help" || sub == "help") {
    fputs(kConfigHelp.data(), sub.empty() ? stderr : stdout);
    return sub.empty() ? kExitUsage : kExitOk;
  }
  if (sub != "push") {
    return usage("unknown subcommand '" + std::string(sub) + "'");
  }
  PushArgs args;
  if (auto err = parsePush(argc - 3, argv + 3, args)) {
    return usage(*err);
  }
  if (args.help) {
    fputs(kConfigHelp.data(), stdout);
    return kExitOk;
  }
  if (args.file.empty()) {
    return usage("push needs FILE");
  }
  if (args.endpoints.empty() || args.prefix.empty()) {
    return usage("push needs --etcd URL and --prefix PREFIX");
  }
  if (args.tls.cert.empty() != args.tls.key.empty()) {
    return usage("--cert and --key go together");
  }
  return push(args);
}

}  // namespace ballast::cli
