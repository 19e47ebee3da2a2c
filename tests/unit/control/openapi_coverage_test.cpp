// tests/unit/control/openapi_coverage_test.cpp — docs/api.yaml and the server's routes must
// name the same endpoints: a new endpoint without documentation fails here, and so does
// documentation of an endpoint that does not exist.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>
#include <string>

#include "control/admin_api.h"

namespace ballast::control {
namespace {

std::string specPath() { return std::string(BALLAST_SOURCE_DIR) + "/docs/api.yaml"; }

std::set<std::string> documented() {
  std::set<std::string> out;
  const YAML::Node spec = YAML::LoadFile(specPath());
  for (const auto& path : spec["paths"]) {
    for (const auto& op : path.second) {
      std::string method = op.first.as<std::string>();
      if (method == "parameters") {
        continue;
      }
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      out.insert(method + " " + path.first.as<std::string>());
    }
  }
  return out;
}

TEST(OpenApiCoverage, EveryRouteIsDocumented) {
  const auto spec = documented();
  for (const auto& route : AdminApi::routes()) {
    EXPECT_TRUE(spec.contains(route)) << route << " is served but missing from docs/api.yaml";
  }
}

TEST(OpenApiCoverage, EveryDocumentedRouteExists) {
  const auto routes = AdminApi::routes();
  const std::set<std::string> served(routes.begin(), routes.end());
  for (const auto& op : documented()) {
    EXPECT_TRUE(served.contains(op)) << op << " is documented but not in AdminApi::routes()";
  }
}

}  // namespace
}  // namespace ballast::control
