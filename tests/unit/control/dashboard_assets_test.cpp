// tests/unit/control/dashboard_assets_test.cpp — the dashboard built into the binary matches
// src/control/dashboard/ on disk (run scripts/embed-dashboard.py when it does not), and the
// asset lookup answers only the dashboard's own paths.
#include "control/dashboard_assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace ballast::control {
namespace {

namespace fs = std::filesystem;

fs::path sourceDir() { return fs::path(BALLAST_SOURCE_DIR) / "src" / "control" / "dashboard"; }

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The URL each file in the source folder is served at.
std::string urlFor(const std::string& file) { return file == "index.html" ? "/" : "/ui/" + file; }

TEST(DashboardAssetsTest, EmbeddedCopiesMatchTheSourceFiles) {
  const fs::path dir = sourceDir();
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    files.insert(entry.path().filename().string());
  }
  EXPECT_EQ(files, (std::set<std::string>{"app.js", "index.html", "style.css"}))
      << "a dashboard file was added or removed: update scripts/embed-dashboard.py and this test";
  for (const auto& file : files) {
    const auto asset = dashboardAsset(urlFor(file));
    ASSERT_TRUE(asset.has_value()) << file << " is not embedded: run scripts/embed-dashboard.py";
    EXPECT_TRUE(asset->body == readFile(dir / file))
        << "src/control/dashboard_assets.cpp is stale for " << file
        << ": run scripts/embed-dashboard.py";
  }
}

TEST(DashboardAssetsTest, ServesEachPathWithItsContentType) {
  EXPECT_EQ(dashboardAsset("/")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(dashboardAsset("/ui/app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(dashboardAsset("/ui/style.css")->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(dashboardAsset("/")->path, "/");
}

TEST(DashboardAssetsTest, UnknownPathsAreNotAssets) {
  for (const char* path : {"", "/ui/", "/ui", "/index.html", "/ui/app.js/", "/ui/../app.js",
                           "/ui/APP.JS", "/api/v1/status", "/metrics"}) {
    EXPECT_FALSE(dashboardAsset(path).has_value()) << path;
  }
}

TEST(DashboardAssetsTest, PageLoadsOnlyItsOwnScriptAndStyle) {
  const std::string_view page = dashboardAsset("/")->body;
  EXPECT_NE(page.find("src=\"/ui/app.js\""), std::string_view::npos);
  EXPECT_NE(page.find("href=\"/ui/style.css\""), std::string_view::npos);
  EXPECT_EQ(page.find("http://"), std::string_view::npos) << "no external resources";
  EXPECT_EQ(page.find("https://"), std::string_view::npos) << "no external resources";
  EXPECT_NE(kDashboardContentSecurityPolicy.find("script-src 'self'"), std::string_view::npos);
}

}  // namespace
}  // namespace ballast::control
