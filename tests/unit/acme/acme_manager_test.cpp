// tests/unit/acme/acme_manager_test.cpp — when renewals and retries are due.
#include "acme/acme_manager.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace ballast::acme {
namespace {

TEST(AcmeManagerTest, RenewalIsDueAtTwoThirdsOfTheLifetime) {
  EXPECT_EQ(AcmeManager::renewalDue(1000, 1000 + 90 * 86400), 1000 + 60 * 86400);
  EXPECT_EQ(AcmeManager::renewalDue(0, 6), 4);
  EXPECT_EQ(AcmeManager::renewalDue(50, 50), 50) << "a zero lifetime renews at once";
}

TEST(AcmeManagerTest, BackoffDoublesFromTheBaseUpToTheCap) {
  EXPECT_EQ(AcmeManager::backoffSeconds(60, 1, 86400), 60);
  EXPECT_EQ(AcmeManager::backoffSeconds(60, 2, 86400), 120);
  EXPECT_EQ(AcmeManager::backoffSeconds(60, 5, 86400), 960);
  EXPECT_EQ(AcmeManager::backoffSeconds(60, 12, 86400), 86400);
  EXPECT_EQ(AcmeManager::backoffSeconds(60, std::numeric_limits<uint32_t>::max(), 86400), 86400)
      << "no overflow after many failures";
  EXPECT_EQ(AcmeManager::backoffSeconds(0, 1, 86400), 1) << "never a busy loop";
}

}  // namespace
}  // namespace ballast::acme
