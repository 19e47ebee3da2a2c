// tests/unit/config/include_test.cpp — `include:` with real files in a temporary directory.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/loader.h"

namespace ballast::config {
namespace {

namespace fs = std::filesystem;

class IncludeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ballast_include_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes dir_/relative, creating directories; returns the path as the loader names it.
  std::string write(const std::string& relative, const std::string& text) {
    const fs::path path = fs::path(dir_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  std::string path(const std::string& relative) const { return dir_ + "/" + relative; }

  std::string dir_;
};

constexpr std::string_view kPool = R"(pools:
  - name: app
    backends: [{address: "127.0.0.1:9001"}]
)";

TEST_F(IncludeTest, IncludedListenersAndPoolsAreAppended) {
  write("conf.d/a.yaml", std::string(kPool));
  write("conf.d/b.yaml", R"(listeners:
  - name: api
    bind: "0.0.0.0:81"
    pool: app
)");
  const std::string top = write("top.yaml", R"(include: ["conf.d/*.yaml"]
listeners:
  - name: web
    bind: "0.0.0.0:80"
    pool: app
)");
  const LoadResult r = loadConfigFile(top);
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].format();
  ASSERT_EQ(r.config->listeners.size(), 2U);
  EXPECT_EQ(r.config->listeners[0].name, "web");
  EXPECT_EQ(r.config->listeners[1].name, "api");
  ASSERT_EQ(r.config->pools.size(), 1U);
  EXPECT_EQ(r.config->pools[0].name, "app");
}

TEST_F(IncludeTest, ErrorInsideIncludedFileNamesThatFile) {
  write("conf.d/bad.yaml", R"(pools:
  - name: app
    backends:
      - {address: "127.0.0.1:9001", weight: 5000}
)");
  const LoadResult r = loadConfigText("include: conf.d/bad.yaml\n", "t.yaml", dir_);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].format(), path("conf.d/bad.yaml") +
                                      ":4:45: weight: expected an integer from 0 to 1000, "
                                      "got \"5000\"");
}

TEST_F(IncludeTest, SyntaxErrorInsideIncludedFileNamesThatFile) {
  write("broken.yaml", "pools: [\n");
  const LoadResult r = loadConfigText("include: [broken.yaml]\n", "t.yaml", dir_);
  ASSERT_EQ(r.errors.size(), 1U);
  const std::string expected = path("broken.yaml") + ":2:1: invalid YAML: ";
  EXPECT_EQ(r.errors[0].format().substr(0, expected.size()), expected);
}

TEST_F(IncludeTest, TopFileScalarsWin) {
  write("extra.yaml", "shutdown_timeout: 20s\nlogging: {level: debug, format: text}\n");
  const LoadResult r = loadConfigText(
      "include: [extra.yaml]\nshutdown_timeout: 10s\nlogging: {format: json}\n", "t.yaml", dir_);
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].format();
  EXPECT_EQ(r.config->shutdown_timeout, std::chrono::seconds(10));
  EXPECT_EQ(r.config->logging.format, LogFormat::kJson);  // the top file set it
  EXPECT_EQ(r.config->logging.level, LogLevel::kDebug);   // only the included file set it
}

TEST_F(IncludeTest, IncludedFileMayNotSetWorkersOrIo) {
  write("extra.yaml", "# process-wide settings\nworkers: 4\nio: epoll\n");
  const LoadResult r = loadConfigText("include: extra.yaml\n", "t.yaml", dir_);
  ASSERT_EQ(r.errors.size(), 2U);
  EXPECT_EQ(r.errors[0].format(),
            path("extra.yaml") + ":2:1: workers may only be set in the top-level file");
  EXPECT_EQ(r.errors[1].format(),
            path("extra.yaml") + ":3:1: io may only be set in the top-level file");
}

TEST_F(IncludeTest, CycleIsAnError) {
  write("b.yaml", "include: a.yaml\n");
  const std::string a = write("a.yaml", "include: b.yaml\n");
  const LoadResult r = loadConfigFile(a);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].format(),
            path("b.yaml") + ":1:10: include: cycle " + a + " -> " + path("b.yaml") + " -> " + a);
}

TEST_F(IncludeTest, SelfIncludeIsACycle) {
  const std::string a = write("self.yaml", "include: [self.yaml]\n");
  const LoadResult r = loadConfigFile(a);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].format(), a + ":1:11: include: cycle " + a + " -> " + a);
}

TEST_F(IncludeTest, SameFileTwiceIsAnError) {
  write("p.yaml", std::string(kPool));
  const LoadResult r = loadConfigText("include:\n  - p.yaml\n  - \"*.yaml\"\n", "t.yaml", dir_);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].format(),
            "t.yaml:3:5: include: \"" + path("p.yaml") + "\" is already included at t.yaml:2:5");
}

TEST_F(IncludeTest, MissingPlainPathIsAnError) {
  const LoadResult r = loadConfigText("include: [missing.yaml]\n", "t.yaml", dir_);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].format(), "t.yaml:1:11: include: cannot read \"" + path("missing.yaml") +
                                      "\": No such file or directory");
}

TEST_F(IncludeTest, GlobMatchingNothingIsFine) {
  const LoadResult r = loadConfigText("include: [\"conf.d/*.yaml\"]\n", "t.yaml", dir_);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_NE(r.config, nullptr);
}

TEST_F(IncludeTest, NestedIncludesAreRelativeToTheIncludingFile) {
  write("conf.d/a.yaml", "include: [sub/b.yaml]\n");
  write("conf.d/sub/b.yaml", std::string(kPool));
  const LoadResult r = loadConfigText("include: conf.d/a.yaml\n", "t.yaml", dir_);
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].format();
  ASSERT_EQ(r.config->pools.size(), 1U);
}

TEST_F(IncludeTest, DuplicateAcrossFilesNamesTheFirstFile) {
  write("more.yaml", std::string(kPool));
  const std::string top = write("top.yaml", "include: more.yaml\n" + std::string(kPool));
  const LoadResult r = loadConfigFile(top);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(
      r.errors[0].format(),
      path("more.yaml") + ":2:11: duplicate pool name \"app\" (first defined at " + top + ":3)");
}

TEST_F(IncludeTest, ListenerMayUseAPoolFromAnIncludedFile) {
  write("pools.yaml", std::string(kPool));
  const LoadResult r = loadConfigText(R"(include: pools.yaml
listeners:
  - {name: web, bind: "[::]:443", pool: app}
)",
                                      "t.yaml", dir_);
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].format();
}

TEST_F(IncludeTest, IncludeEntriesAreExpanded) {
  write("env/p.yaml", std::string(kPool));
  ASSERT_EQ(setenv("BALLAST_T_CONFD", "env", 1), 0);
  const LoadResult r = loadConfigText("include: [\"${BALLAST_T_CONFD}/*.yaml\"]\n", "t.yaml", dir_);
  unsetenv("BALLAST_T_CONFD");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].format();
  EXPECT_EQ(r.config->pools.size(), 1U);
}

TEST_F(IncludeTest, DirectoryIsNotAFile) {
  fs::create_directories(path("conf.d/dir.yaml"));
  const LoadResult r = loadConfigText("include: [\"conf.d/*.yaml\"]\n", "t.yaml", dir_);
  ASSERT_EQ(r.errors.size(), 1U);
  EXPECT_EQ(r.errors[0].format(), "t.yaml:1:11: include: cannot read \"" + path("conf.d/dir.yaml") +
                                      "\": not a regular file");
}

}  // namespace
}  // namespace ballast::config
