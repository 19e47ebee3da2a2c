// src/uplink/state_file.cpp — the state file (JSON, written atomically by rename).
#include "uplink/state_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "uplink/nft_driver.h"
#include "uplink/programmer.h"
#include "uplink/sysctl.h"

namespace ballast::uplink {
namespace {

constexpr int kStateVersion = 1;
constexpr const char* kHashPolicyOn = "1";

bool writeState(const std::string& path, const nlohmann::json& state, std::string* error) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, ec);
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << state.dump(2) << "\n";
    out.flush();
    if (!out) {
      *error = "cannot write state file " + tmp;
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot rename " + tmp + ": " + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
    return false;
  }
  return true;
}

}  // namespace

nlohmann::json readState(const std::string& state_path) {
  std::ifstream in(state_path);
  if (!in) {
    return nullptr;
  }
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception&) {
    return nullptr;
  }
}

bool takeOverHost(const std::string& state_path, std::string* error) {
  nlohmann::json state = readState(state_path);
  if (!state.is_object()) {
    state = {{"version", kStateVersion}, {"sysctls", nlohmann::json::object()}};
    for (const char* name : kHashPolicySysctls) {
      if (const auto v = readSysctl(name)) {
        state["sysctls"][name] = *v;
      }
    }
    state["nft_table_existed"] = nftTableExists();
  }
  state["pid"] = static_cast<int64_t>(getpid());
  if (!writeState(state_path, state, error)) {
    return false;
  }
  for (const auto& [name, value] : state["sysctls"].items()) {
    if (!writeSysctl(name, kHashPolicyOn)) {
      *error = "cannot set " + name;
      return false;
    }
  }
  return true;
}

void recordApplied(const std::string& state_path, const nlohmann::json& applied) {
  nlohmann::json state = readState(state_path);
  if (!state.is_object()) {
    return;
  }
  state["applied"] = applied;
  std::string error;
  writeState(state_path, state, &error);
}

nlohmann::json restoreHost(NetlinkSocket& sock, const std::string& state_path, std::string* error) {
  nlohmann::json summary = removeOwned(sock, error);
  std::string nft_error;
  if (!deleteNftTable(&nft_error)) {
    *error += (error->empty() ? "" : "; ") + ("nftables: " + nft_error);
  }
  summary["nft_table"] = std::string(kNftFamily) + " " + kNftTable;
  const nlohmann::json state = readState(state_path);
  summary["sysctls"] = nlohmann::json::object();
  if (state.is_object() && state.contains("sysctls") && state["sysctls"].is_object()) {
    for (const auto& [name, value] : state["sysctls"].items()) {
      if (!value.is_string()) {
        continue;
      }
      if (writeSysctl(name, value.get<std::string>())) {
        summary["sysctls"][name] = value;
      } else {
        *error += (error->empty() ? "" : "; ") + ("cannot restore " + name);
      }
    }
    std::remove(state_path.c_str());
  } else {
    summary["warning"] = "no state file at " + state_path + ": sysctls left as they are";
  }
  return summary;
}

}  // namespace ballast::uplink
