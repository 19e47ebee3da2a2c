// src/discovery/kubeconfig.h — how to reach a Kubernetes API server: from a kubeconfig file
// (its current-context's cluster and user) or from inside a pod (the service account).
// Read on the watcher thread before each connect, so a rotated token or certificate is picked up.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ballast::discovery {

struct KubeCredentials {
  std::string server;           // https://host:port, no trailing '/'
  std::string ca_pem;           // trusted for the server's certificate; "" = the system's store
  std::string token;            // bearer token; "" = none
  std::string client_cert_pem;  // client certificate and key (both or neither)
  std::string client_key_pem;
};

// A kubeconfig document; relative file paths in it are relative to `base_dir`.
std::optional<KubeCredentials> parseKubeconfig(std::string_view text, const std::string& base_dir,
                                               std::string* error);
std::optional<KubeCredentials> readKubeconfig(const std::string& path, std::string* error);

// In a pod: KUBERNETES_SERVICE_HOST and _PORT, and `token` and `ca.crt` under
// `account_dir` (/var/run/secrets/kubernetes.io/serviceaccount).
std::optional<KubeCredentials> inClusterCredentials(const std::string& account_dir,
                                                    std::string* error);
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// Standard base64 (RFC 4648 §4), as kubeconfig *-data fields hold; nullopt on other bytes.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace ballast::discovery
