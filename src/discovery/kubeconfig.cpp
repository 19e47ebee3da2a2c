// src/discovery/kubeconfig.cpp — kubeconfig (yaml-cpp) and service-account credentials.
#include "discovery/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>

#include "core/base64.h"

namespace ballast::discovery {
namespace {

// A kubeconfig, a certificate, a token: all far below this.
constexpr std::streamsize kMaxFileBytes = 1 << 20;

std::optional<std::string> readSmallFile(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path;
    return std::nullopt;
  }
  std::string text(static_cast<size_t>(kMaxFileBytes) + 1, '\0');
  in.read(text.data(), kMaxFileBytes + 1);
  if (in.gcount() > kMaxFileBytes) {
    *error = path + " is too large";
    return std::nullopt;
  }
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

// The entry of `list` (clusters, users, contexts) named `name`: its inner mapping.
std::optional<YAML::Node> named(const YAML::Node& list, const std::string& list_key,
                                const std::string& name) {
  if (!list.IsSequence()) {
    return std::nullopt;
  }
  for (const auto& entry : list) {
    if (entry.IsMap() && entry["name"] && entry["name"].IsScalar() &&
        entry["name"].as<std::string>() == name && entry[list_key].IsMap()) {
      return entry[list_key];
    }
  }
  return std::nullopt;
}

std::string scalar(const YAML::Node& map, const char* key) {
  if (!map.IsMap()) {
    return {};
  }
  const YAML::Node v = map[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

// `<field>-data` (base64) or `<field>` (a path, relative to base_dir); "" when neither.
bool dataOrFile(const YAML::Node& map, const std::string& field, const std::string& base_dir,
                std::string* out, std::string* error) {
  const std::string data = scalar(map, (field + "-data").c_str());
  if (!data.empty()) {
    auto decoded = base64Decode(data);
    if (!decoded) {
      *error = field + "-data is not base64";
      return false;
    }
    *out = std::move(*decoded);
    return true;
  }
  std::string path = scalar(map, field.c_str());
  if (path.empty()) {
    return true;
  }
  if (path.front() != '/') {
    path = base_dir + "/" + path;
  }
  auto text = readSmallFile(path, error);
  if (!text) {
    return false;
  }
  *out = std::move(*text);
  return true;
}

}  // namespace

std::optional<std::string> base64Decode(std::string_view text) {
  // kubeconfig files wrap long data lines: whitespace is not part of the encoding.
  std::string compact;
  compact.reserve(text.size());
  for (const char c : text) {
    if (c != '\n' && c != '\r' && c != ' ') {
      compact.push_back(c);
    }
  }
  return core::base64Decode(compact);
}

std::optional<KubeCredentials> parseKubeconfig(std::string_view text, const std::string& base_dir,
                                               std::string* error) {
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    *error = std::string("kubeconfig: ") + e.what();
    return std::nullopt;
  }
  try {
    const std::string context_name = scalar(doc, "current-context");
    if (context_name.empty()) {
      *error = "kubeconfig: no current-context";
      return std::nullopt;
    }
    const auto context_entry = named(doc["contexts"], "context", context_name);
    if (!context_entry) {
      *error = "kubeconfig: no context named " + context_name;
      return std::nullopt;
    }
    const YAML::Node& context = *context_entry;
    const std::string cluster_name = scalar(context, "cluster");
    const auto cluster_entry = named(doc["clusters"], "cluster", cluster_name);
    if (!cluster_entry) {
      *error = "kubeconfig: no cluster named " + cluster_name;
      return std::nullopt;
    }
    const YAML::Node& cluster = *cluster_entry;
    KubeCredentials out;
    out.server = scalar(cluster, "server");
    while (!out.server.empty() && out.server.back() == '/') {
      out.server.pop_back();
    }
    if (!out.server.starts_with("https://")) {
      *error = "kubeconfig: cluster " + cluster_name + " has no https:// server";
      return std::nullopt;
    }
    std::string why;
    if (!dataOrFile(cluster, "certificate-authority", base_dir, &out.ca_pem, &why)) {
      *error = "kubeconfig: cluster " + cluster_name + ": " + why;
      return std::nullopt;
    }
    const std::string user_name = scalar(context, "user");
    if (!user_name.empty()) {
      const auto user_entry = named(doc["users"], "user", user_name);
      if (!user_entry) {
        *error = "kubeconfig: no user named " + user_name;
        return std::nullopt;
      }
      const YAML::Node& user = *user_entry;
      out.token = scalar(user, "token");
      const std::string token_file = scalar(user, "tokenFile");
      if (out.token.empty() && !token_file.empty()) {
        auto token = readSmallFile(
            token_file.front() == '/' ? token_file : base_dir + "/" + token_file, &why);
        if (!token) {
          *error = "kubeconfig: user " + user_name + ": " + why;
          return std::nullopt;
        }
        out.token = trimmed(std::move(*token));
      }
      if (!dataOrFile(user, "client-certificate", base_dir, &out.client_cert_pem, &why) ||
          !dataOrFile(user, "client-key", base_dir, &out.client_key_pem, &why)) {
        *error = "kubeconfig: user " + user_name + ": " + why;
        return std::nullopt;
      }
      if (out.client_cert_pem.empty() != out.client_key_pem.empty()) {
        *error = "kubeconfig: user " + user_name + ": a client certificate needs its key";
        return std::nullopt;
      }
    }
    return out;
  } catch (const YAML::Exception& e) {
    *error = std::string("kubeconfig: ") + e.what();
    return std::nullopt;
  }
}

std::optional<KubeCredentials> readKubeconfig(const std::string& path, std::string* error) {
  auto text = readSmallFile(path, error);
  if (!text) {
    return std::nullopt;
  }
  const size_t slash = path.rfind('/');
  return parseKubeconfig(*text, slash == std::string::npos ? "." : path.substr(0, slash), error);
}

std::optional<KubeCredentials> inClusterCredentials(const std::string& account_dir,
                                                    std::string* error) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");  // NOLINT(concurrency-mt-unsafe)
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");  // NOLINT(concurrency-mt-unsafe)
  if (host == nullptr || port == nullptr || *host == '\0' || *port == '\0') {
    *error = "in_cluster: KUBERNETES_SERVICE_HOST/PORT are not set (not in a pod?)";
    return std::nullopt;
  }
  KubeCredentials out;
  const std::string h(host);
  out.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  auto token = readSmallFile(account_dir + "/token", error);
  auto ca = readSmallFile(account_dir + "/ca.crt", error);
  if (!token || !ca) {
    return std::nullopt;
  }
  out.token = trimmed(std::move(*token));
  out.ca_pem = std::move(*ca);
  return out;
}

}  // namespace ballast::discovery
