// tests/unit/proto/grpc/grpc_fields_test.cpp — grpc-timeout units and malformed values,
// grpc-status codes, and which content types are gRPC.
#include "proto/grpc/grpc_fields.h"

#include <gtest/gtest.h>

namespace ballast::proto::grpc {
namespace {

TEST(GrpcTimeout, EveryUnit) {
  EXPECT_EQ(parseTimeoutMs("2H"), 2ULL * 3600 * 1000);
  EXPECT_EQ(parseTimeoutMs("3M"), 3ULL * 60 * 1000);
  EXPECT_EQ(parseTimeoutMs("5S"), 5000U);
  EXPECT_EQ(parseTimeoutMs("250m"), 250U);
  EXPECT_EQ(parseTimeoutMs("1500u"), 2U);  // rounded up: never early
  EXPECT_EQ(parseTimeoutMs("1000u"), 1U);
  EXPECT_EQ(parseTimeoutMs("1n"), 1U);
  EXPECT_EQ(parseTimeoutMs("0m"), 0U);
  EXPECT_EQ(parseTimeoutMs("99999999H"), 99999999ULL * 3600 * 1000);
  EXPECT_EQ(parseTimeoutMs("00000001S"), 1000U);
}

TEST(GrpcTimeout, MalformedValuesAreRefused) {
  for (const char* bad : {"", "S", "5", "5s", "5 S", " 5S", "-5S", "+5S", "123456789S", "5SS",
                          "5.0S", "0x5S", "5h", "\x35\x00"}) {
    EXPECT_FALSE(parseTimeoutMs(bad).has_value()) << bad;
  }
}

TEST(GrpcStatus, Codes) {
  EXPECT_EQ(parseStatus("0"), 0U);
  EXPECT_EQ(parseStatus("4"), 4U);
  EXPECT_EQ(parseStatus("16"), 16U);
  EXPECT_EQ(parseStatus("200"), 200U);
  EXPECT_FALSE(parseStatus("").has_value());
  EXPECT_FALSE(parseStatus("1000").has_value());
  EXPECT_FALSE(parseStatus("-1").has_value());
  EXPECT_FALSE(parseStatus(" 0").has_value());
}

TEST(GrpcStatus, Names) {
  EXPECT_EQ(statusName(0), "OK");
  EXPECT_EQ(statusName(4), "DEADLINE_EXCEEDED");
  EXPECT_EQ(statusName(16), "UNAUTHENTICATED");
  EXPECT_EQ(statusName(17), "OTHER");
}

TEST(GrpcContentType, GrpcAndItsSuffixes) {
  EXPECT_TRUE(isGrpcContentType("application/grpc"));
  EXPECT_TRUE(isGrpcContentType("application/grpc+proto"));
  EXPECT_TRUE(isGrpcContentType("Application/GRPC;charset=utf-8"));
  EXPECT_FALSE(isGrpcContentType("application/grpc-web"));
  EXPECT_FALSE(isGrpcContentType("application/json"));
  EXPECT_FALSE(isGrpcContentType("application/grp"));
}

}  // namespace
}  // namespace ballast::proto::grpc
