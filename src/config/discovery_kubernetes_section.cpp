// src/config/discovery_kubernetes_section.cpp — the `kubernetes:` discovery mapping. Nothing
// is fetched here: the API server is reached by the control plane's watcher thread, so
// `validate` checks shape only (and that a kubeconfig path is a file path).
#include "config/discovery_kubernetes_section.h"

#include <array>
#include <charconv>
#include <string_view>

#include "config/limits.h"

namespace ballast::config {
namespace {

using std::literals::operator""sv;

constexpr std::array kKubernetesKeys = {"namespace"sv, "service"sv, "port"sv, "kubeconfig"sv,
                                        "in_cluster"sv};
// RFC 1123 labels, as Kubernetes names namespaces and services.
constexpr size_t kMaxKubernetesNameLength = 63;
constexpr uint32_t kMaxPort = 65535;

bool isDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > kMaxKubernetesNameLength || s.front() == '-' || s.back() == '-') {
    return false;
  }
  for (const char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> readLabel(FileReader& file, const Field& field, std::string_view what) {
  const auto text = readScalar(file, field, what);
  if (text && !isDnsLabel(*text)) {
    reportExpected(file, field, what, quote(*text));
    return std::nullopt;
  }
  return text;
}

// A port name (a DNS label) or a number 1..65535.
std::optional<std::string> readPort(FileReader& file, const Field& field) {
  constexpr std::string_view kWhat = "an EndpointSlice port name or a number 1..65535";
  const auto text = readScalar(file, field, kWhat);
  if (!text) {
    return std::nullopt;
  }
  uint32_t n = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  const bool numeric = ec == std::errc() && end == text->data() + text->size();
  if ((numeric && (n == 0 || n > kMaxPort)) || (!numeric && !isDnsLabel(*text))) {
    reportExpected(file, field, kWhat, quote(*text));
    return std::nullopt;
  }
  return text;
}

}  // namespace

void readKubernetesDiscovery(FileReader& file, const Field& field, Pool& pool) {
  const MapReader map(file, field, "discovery.kubernetes", kKubernetesKeys);
  if (!map.ok()) {
    return;
  }
  PoolDiscovery::Kubernetes k;
  bool ok = true;
  const Field* ns = map.require(file, "namespace");
  const Field* svc = map.require(file, "service");
  if (ns == nullptr || svc == nullptr) {
    return;
  }
  if (auto v = readLabel(file, *ns, "a Kubernetes namespace name")) {
    k.namespace_name = *v;
  } else {
    ok = false;
  }
  if (auto v = readLabel(file, *svc, "a Kubernetes service name")) {
    k.service = *v;
  } else {
    ok = false;
  }
  if (const Field* f = map.find("port")) {
    if (auto v = readPort(file, *f)) {
      k.port = *v;
    } else {
      ok = false;
    }
  }
  const Field* kubeconfig = map.find("kubeconfig");
  const Field* in_cluster = map.find("in_cluster");
  if (kubeconfig != nullptr && in_cluster != nullptr) {
    file.error(in_cluster->key_mark,
               "discovery.kubernetes: kubeconfig and in_cluster are exclusive");
    return;
  }
  if (kubeconfig != nullptr) {
    if (auto path = readFilePath(file, *kubeconfig, false)) {
      k.kubeconfig = *path;
    } else {
      ok = false;
    }
  } else if (in_cluster != nullptr) {
    const auto v = readBool(file, *in_cluster);
    if (v && !*v) {
      file.error(in_cluster->valueMark(),
                 "discovery.kubernetes: in_cluster: false leaves no API server; give kubeconfig");
      return;
    }
    k.in_cluster = v.value_or(false);
    ok = ok && v.has_value();
  } else {
    file.error(map.mark(), "discovery.kubernetes needs kubeconfig or in_cluster: true");
    return;
  }
  if (ok) {
    pool.discovery.kubernetes = std::move(k);
  }
}

}  // namespace ballast::config
