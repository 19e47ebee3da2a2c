// tests/unit/policy/sticky_table_test.cpp — the sticky sessions one node holds: pins, what the
// store says, what is still to be written, and a full table.
#include "policy/sticky_table.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

namespace ballast::policy {
namespace {

uint64_t now() { return static_cast<uint64_t>(std::time(nullptr)); }

TEST(StickyTable, PinIsFoundUntilItExpires) {
  StickyTable t;
  t.pin("k", "127.0.0.1:1", now() + 10, PinKind::kClaim);
  EXPECT_EQ(t.find("k", now()), "127.0.0.1:1");
  EXPECT_FALSE(t.find("k", now() + 11).has_value());
  EXPECT_FALSE(t.find("other", now()).has_value());
}

TEST(StickyTable, QueuedPinsAreDrainedOnceAndStayPendingUntilWritten) {
  StickyTable t;
  t.pin("a", "b1", now() + 10, PinKind::kClaim);
  t.pin("b", "b2", now() + 10, PinKind::kMove);
  auto pins = t.drainQueued();
  ASSERT_EQ(pins.size(), 2U);
  EXPECT_EQ(pins[1].kind, PinKind::kMove);
  EXPECT_TRUE(t.drainQueued().empty());
  // Not written yet: a walk after an outage still finds both.
  EXPECT_EQ(t.pending(100).size(), 2U);
  t.written(pins[0]);
  const auto left = t.pending(100);
  ASSERT_EQ(left.size(), 1U);
  EXPECT_EQ(left[0].key, "b");
}

TEST(StickyTable, RepinAfterDrainStaysPending) {
  StickyTable t;
  t.pin("a", "b1", now() + 10, PinKind::kClaim);
  const auto pins = t.drainQueued();
  t.pin("a", "b2", now() + 10, PinKind::kMove);  // moved before the first write came back
  t.written(pins[0]);
  const auto left = t.pending(100);
  ASSERT_EQ(left.size(), 1U);
  EXPECT_EQ(left[0].backend, "b2");
}

TEST(StickyTable, StoreDoesNotOverwriteAnUnwrittenPinUnlessItOverrules) {
  StickyTable t;
  t.pin("a", "mine", now() + 10, PinKind::kClaim);
  t.install("a", "theirs", now() + 10, false);
  EXPECT_EQ(t.find("a", now()), "mine");
  t.install("a", "theirs", now() + 10, true);  // the store refused our claim
  EXPECT_EQ(t.find("a", now()), "theirs");
  EXPECT_TRUE(t.pending(100).empty());
  t.install("a", "later", now() + 10, false);  // written pins follow the store
  EXPECT_EQ(t.find("a", now()), "later");
}

TEST(StickyTable, FullTableDropsExpiredFirstThenAnyAndCounts) {
  StickyTable t(kStickyShards);  // one entry per shard
  int live = 0;
  for (int i = 0; i < 64; ++i) {
    t.pin("k" + std::to_string(i), "b", now() + 10, PinKind::kClaim);
  }
  for (int i = 0; i < 64; ++i) {
    live += t.find("k" + std::to_string(i), now()).has_value() ? 1 : 0;
  }
  EXPECT_LE(t.size(), kStickyShards);
  EXPECT_EQ(static_cast<size_t>(live), t.size());
  EXPECT_EQ(t.evictions(), 64U - t.size());
}

TEST(StickyTable, QueueOverflowAsksForAWalk) {
  StickyTable t;
  for (size_t i = 0; i <= kStickyQueueLimit; ++i) {
    t.pin("k" + std::to_string(i), "b", now() + 10, PinKind::kClaim);
  }
  EXPECT_TRUE(t.takeOverflow());
  EXPECT_FALSE(t.takeOverflow());
  EXPECT_EQ(t.drainQueued().size(), kStickyQueueLimit);
  EXPECT_EQ(t.pending(kStickyQueueLimit * 2).size(), kStickyQueueLimit + 1);
}

TEST(PinMessage, RoundTripsAndRefusesWhatIsNotOurs) {
  const std::string text = formatPinMessage("ballast:sticky:app:ab", "127.0.0.1:80", 1700000000);
  const auto m = parsePinMessage(text);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->key, "ballast:sticky:app:ab");
  EXPECT_EQ(m->backend, "127.0.0.1:80");
  EXPECT_EQ(m->expiry_s, 1700000000U);
  for (const char* bad :
       {"", "hello", "other:app:ab\nb\n1", "ballast:sticky:app:ab\nb\n",
        "ballast:sticky:app:ab\nb\n12x", "ballast:sticky:app:ab\n\n1", "ballast:sticky:\nb\n1",
        "ballast:sticky:app:ab\nb", "ballast:sticky:app:ab\nb\n-1",
        "ballast:sticky:a\nb\n99999999999999999999999"}) {
    EXPECT_FALSE(parsePinMessage(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace ballast::policy
