// tests/unit/control/audit_log_test.cpp — the audit trail: sequence numbers, the bounded ring and
// since(), live subscribers, and the JSON-lines file (append, reopen after rotation, a file that
// cannot be opened).
#include "control/audit_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"

namespace ballast::control {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "ballast-audit-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::vector<json> readLines(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(json::parse(line));
  }
  return out;
}

// Each record also logs an info line; keep the test output to the failures.
class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto level :
         {core::LogLevel::kDebug, core::LogLevel::kInfo, core::LogLevel::kWarn}) {
      if (core::logEnabled(level)) {
        saved_ = level;
        break;
      }
    }
    core::setLogLevel(core::LogLevel::kWarn);
  }
  void TearDown() override { core::setLogLevel(saved_); }

 private:
  core::LogLevel saved_ = core::LogLevel::kError;
};

std::vector<uint64_t> seqs(const std::vector<AuditRecord>& records) {
  std::vector<uint64_t> out;
  for (const auto& r : records) {
    out.push_back(r.seq);
  }
  return out;
}

TEST_F(AuditLogTest, RecordsGetIncreasingSequenceNumbersAndTimes) {
  AuditLog log;
  EXPECT_EQ(log.lastSeq(), 0U);
  const auto t0 = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  EXPECT_EQ(log.record("config.load", "system", nullptr, {{"generation", 1}}), 1U);
  EXPECT_EQ(log.record("admin.backend_weight", "admin:unix:uid=0,pid=1", {{"weight", 1}},
                       {{"weight", 0}}),
            2U);
  EXPECT_EQ(log.lastSeq(), 2U);
  const auto all = log.since(0);
  ASSERT_EQ(all.size(), 2U);
  EXPECT_GE(all[0].time_ms, t0);
  EXPECT_LE(all[0].time_ms, all[1].time_ms);
  const json j = all[1].toJson();
  EXPECT_EQ(j["seq"], 2);
  EXPECT_EQ(j["kind"], "admin.backend_weight");
  EXPECT_EQ(j["actor"], "admin:unix:uid=0,pid=1");
  EXPECT_EQ(j["before"], (json{{"weight", 1}}));
  EXPECT_EQ(j["after"], (json{{"weight", 0}}));
  EXPECT_TRUE(j.contains("time_ms"));
  EXPECT_TRUE(all[0].toJson()["before"].is_null());
}

TEST_F(AuditLogTest, RingKeepsTheNewestCapacityRecords) {
  AuditLog log(3);
  for (int i = 0; i < 5; ++i) {
    log.record("k", "system", nullptr, {{"i", i}});
  }
  EXPECT_EQ(seqs(log.since(0)), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(log.lastSeq(), 5U);  // sequence numbers go on past the ring
  EXPECT_EQ(seqs(log.since(3)), (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(seqs(log.since(4)), (std::vector<uint64_t>{5}));
  EXPECT_TRUE(log.since(5).empty());
  EXPECT_TRUE(log.since(99).empty());
  EXPECT_EQ(seqs(log.since(0, 2)), (std::vector<uint64_t>{3, 4}));  // oldest first, limited
}

TEST_F(AuditLogTest, CapacityZeroStillKeepsOne) {
  AuditLog log(0);
  log.record("a", "system", nullptr, nullptr);
  log.record("b", "system", nullptr, nullptr);
  const auto all = log.since(0);
  ASSERT_EQ(all.size(), 1U);
  EXPECT_EQ(all[0].kind, "b");
}

TEST_F(AuditLogTest, SubscribersSeeEachRecordUntilUnsubscribed) {
  AuditLog log;
  std::vector<std::string> seen_a;
  std::vector<uint64_t> seen_b;
  const uint64_t a = log.subscribe([&](const AuditRecord& r) { seen_a.push_back(r.kind); });
  const uint64_t b = log.subscribe([&](const AuditRecord& r) { seen_b.push_back(r.seq); });
  EXPECT_NE(a, b);
  log.record("one", "system", nullptr, nullptr);
  log.unsubscribe(a);
  log.record("two", "system", nullptr, nullptr);
  EXPECT_EQ(seen_a, (std::vector<std::string>{"one"}));
  EXPECT_EQ(seen_b, (std::vector<uint64_t>{1, 2}));
  log.unsubscribe(b);
  log.unsubscribe(b);  // twice is harmless
  log.record("three", "system", nullptr, nullptr);
  EXPECT_EQ(seen_b.size(), 2U);
}

TEST_F(AuditLogTest, SubscriberMayReadTheLog) {
  // Subscribers run with the lock released, so one may read the log (an SSE writer does).
  AuditLog log;
  std::vector<uint64_t> last;
  log.subscribe([&](const AuditRecord&) { last.push_back(log.lastSeq()); });
  log.record("one", "system", nullptr, nullptr);
  EXPECT_EQ(last, (std::vector<uint64_t>{1}));
}

TEST_F(AuditLogTest, AppendsJsonLinesToTheFile) {
  TempDir dir;
  const auto path = dir.file("audit.log");
  {
    std::ofstream(path) << R"({"seq":0,"kind":"older","actor":"x","time_ms":0})"
                        << "\n";
  }
  AuditLog log;
  log.record("before-file", "system", nullptr, nullptr);  // only in the ring
  log.setFile(path);
  log.record("a", "system", nullptr, {{"x", "quote\" and\nnewline"}});
  log.record("b", "signal:SIGHUP", {{"generation", 1}}, {{"generation", 2}});
  const auto lines = readLines(path);
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(lines[0]["kind"], "older");  // appended, not truncated
  EXPECT_EQ(lines[1], log.since(1)[0].toJson());
  EXPECT_EQ(lines[1]["after"]["x"], "quote\" and\nnewline");
  EXPECT_EQ(lines[2]["seq"], 3);
  EXPECT_EQ(lines[2]["actor"], "signal:SIGHUP");
  EXPECT_EQ(log.writeErrors(), 0U);
  log.setFile("");  // stop writing
  log.record("c", "system", nullptr, nullptr);
  EXPECT_EQ(readLines(path).size(), 3U);
}

TEST_F(AuditLogTest, ReopenAfterRotationStartsAFreshFile) {
  TempDir dir;
  const auto path = dir.file("audit.log");
  AuditLog log;
  log.setFile(path);
  log.record("a", "system", nullptr, nullptr);
  fs::rename(path, path + ".1");
  log.record("b", "system", nullptr, nullptr);  // still the old inode
  log.reopen();
  log.record("c", "system", nullptr, nullptr);
  const auto rotated = readLines(path + ".1");
  const auto fresh = readLines(path);
  ASSERT_EQ(rotated.size(), 2U);
  EXPECT_EQ(rotated[1]["kind"], "b");
  ASSERT_EQ(fresh.size(), 1U);
  EXPECT_EQ(fresh[0]["kind"], "c");
  EXPECT_EQ(fresh[0]["seq"], 3);
}

TEST_F(AuditLogTest, UnopenableFileIsCountedAndTheRingStillWorks) {
  TempDir dir;
  AuditLog log;
  log.setFile(dir.file("no/such/dir/audit.log"));
  EXPECT_EQ(log.writeErrors(), 1U);
  EXPECT_EQ(log.record("a", "system", nullptr, nullptr), 1U);
  EXPECT_EQ(log.since(0).size(), 1U);
}

TEST_F(AuditLogTest, RecordIsSafeFromManyThreads) {
  AuditLog log(10000);
  std::vector<std::thread> threads;
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        log.record("k", "system", nullptr, nullptr);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  const auto all = log.since(0, 100000);
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].seq, i + 1);  // no gaps, no repeats, in order
  }
}

}  // namespace
}  // namespace ballast::control
