// tests/unit/config/discovery_kubernetes_section_test.cpp — `discovery: {kubernetes}`: what is
// accepted, and the line:column errors a user sees for the rest.
#include "config/discovery_kubernetes_section.h"

#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

LoadResult load(std::string_view discovery) {
  return loadConfigText("pools:\n  - name: app\n    discovery: " + std::string(discovery) + "\n",
                        "t.yaml");
}

std::string allErrors(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += e.format() + "\n";
  }
  return out;
}

TEST(KubernetesDiscoveryConfigTest, AKubeconfigOrInClusterServiceIsAccepted) {
  const LoadResult r = load(
      "{kubernetes: {namespace: shop, service: web, port: http, kubeconfig: /etc/kube/config}}");
  ASSERT_NE(r.config, nullptr) << allErrors(r);
  const auto& k = r.config->pools[0].discovery.kubernetes;
  EXPECT_TRUE(r.config->pools[0].discovery.hasKubernetes());
  EXPECT_EQ(k.namespace_name, "shop");
  EXPECT_EQ(k.service, "web");
  EXPECT_EQ(k.port, "http");
  EXPECT_EQ(k.kubeconfig, "/etc/kube/config");
  EXPECT_FALSE(k.in_cluster);
  EXPECT_TRUE(r.config->pools[0].backends.empty());

  const LoadResult in = load("{kubernetes: {namespace: shop, service: web, in_cluster: true}}");
  ASSERT_NE(in.config, nullptr) << allErrors(in);
  EXPECT_TRUE(in.config->pools[0].discovery.kubernetes.in_cluster);
  EXPECT_EQ(in.config->pools[0].discovery.kubernetes.port, "");

  const LoadResult numeric =
      load("{kubernetes: {namespace: shop, service: web, port: 8080, in_cluster: true}}");
  ASSERT_NE(numeric.config, nullptr) << allErrors(numeric);
  EXPECT_EQ(numeric.config->pools[0].discovery.kubernetes.port, "8080");
}

TEST(KubernetesDiscoveryConfigTest, MistakesAreErrorsAtTheirLineAndColumn) {
  struct Case {
    const char* discovery;
    const char* says;
  };
  for (const Case& c : {
           Case{"{kubernetes: {namespace: a, service: b}}", "kubeconfig or in_cluster"},
           Case{"{kubernetes: {namespace: a, service: b, kubeconfig: /k, in_cluster: true}}",
                "exclusive"},
           Case{"{kubernetes: {namespace: a, service: b, in_cluster: false}}", "in_cluster"},
           Case{"{kubernetes: {service: b, in_cluster: true}}", "namespace"},
           Case{"{kubernetes: {namespace: a, in_cluster: true}}", "service"},
           Case{"{kubernetes: {namespace: A_b, service: b, in_cluster: true}}", "namespace"},
           Case{"{kubernetes: {namespace: a, service: b, port: 70000, in_cluster: true}}", "port"},
           Case{"{kubernetes: {namespace: a, service: b, kubeconfig: rel/path}}", "path"},
           Case{"{kubernetes: {namespace: a, service: b, in_cluster: true, x: 1}}", "x"},
           Case{"{file: /d.yaml, kubernetes: {namespace: a, service: b, in_cluster: true}}",
                "exclusive"},
       }) {
    const LoadResult r = load(c.discovery);
    EXPECT_EQ(r.config, nullptr) << c.discovery;
    ASSERT_FALSE(r.errors.empty()) << c.discovery;
    EXPECT_NE(r.errors[0].format().find("t.yaml:3:"), std::string::npos) << allErrors(r);
    EXPECT_NE(allErrors(r).find(c.says), std::string::npos) << c.discovery << "\n" << allErrors(r);
  }
}

TEST(KubernetesDiscoveryConfigTest, BackendsBesideKubernetesAreRefused) {
  const LoadResult r = loadConfigText(R"(pools:
  - name: app
    backends: [{address: "127.0.0.1:9001"}]
    discovery: {kubernetes: {namespace: a, service: b, in_cluster: true}}
)",
                                      "t.yaml");
  EXPECT_EQ(r.config, nullptr);
  EXPECT_NE(allErrors(r).find("exclusive"), std::string::npos) << allErrors(r);
}

}  // namespace
}  // namespace ballast::config
