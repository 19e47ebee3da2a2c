// tests/unit/uplink/doctor_checks_test.cpp — `ballast doctor`'s uplink checks on this host.
#include "uplink/doctor_checks.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ballast::uplink {
namespace {

const control::DoctorFinding* find(const std::vector<control::DoctorFinding>& all,
                                   const std::string& check) {
  const auto it =
      std::find_if(all.begin(), all.end(), [&](const auto& f) { return f.check == check; });
  return it == all.end() ? nullptr : &*it;
}

TEST(UplinkDoctorChecksTest, NothingToSayWithoutUplinks) {
  EXPECT_TRUE(uplinkDoctorChecks(config::Config{}).empty());
}

TEST(UplinkDoctorChecksTest, MissingInterfaceIsAWarningWithAFix) {
  config::Config cfg;
  cfg.uplinks.push_back({.interface = "nosuch0"});
  cfg.uplinks.push_back({.interface = "lo"});
  cfg.lan_interfaces = {"nosuch1"};
  const auto findings = uplinkDoctorChecks(cfg);
  const auto* missing = find(findings, "uplink interface nosuch0");
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->severity, control::Severity::kWarn);
  EXPECT_FALSE(missing->fix.empty());
  const auto* present = find(findings, "uplink interface lo");
  ASSERT_NE(present, nullptr);
  EXPECT_EQ(present->severity, control::Severity::kOk);
  EXPECT_NE(find(findings, "net.ipv4.conf.lo.rp_filter"), nullptr);
  EXPECT_NE(find(findings, "LAN interface nosuch1"), nullptr);
  // With lan_interfaces, forwarding is checked; the hash policy always is.
  EXPECT_NE(find(findings, "net.ipv4.ip_forward"), nullptr);
  EXPECT_NE(find(findings, "net.ipv4.fib_multipath_hash_policy"), nullptr);
}

}  // namespace
}  // namespace ballast::uplink
