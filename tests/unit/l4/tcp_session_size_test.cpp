// tests/unit/l4/tcp_session_size_test.cpp — guards the "idle costs nothing" budget: a proxied
// pair's user memory is its TcpSession (queues hold no buffer while idle). The bench measures
// RSS per idle pair; this catches a member that quietly doubles it.
#include <gtest/gtest.h>

#include "l4/tcp_session.h"

namespace ballast::l4 {
namespace {

constexpr size_t kIdlePairBudgetBytes = 1024;  // the target from the foundation issue
constexpr size_t kSessionCeilingBytes = 512;   // leaves room for slab and kernel-side slack

TEST(TcpSessionSize, StaysWellUnderTheIdleBudget) {
  static_assert(kSessionCeilingBytes < kIdlePairBudgetBytes);
  EXPECT_LE(sizeof(TcpSession), kSessionCeilingBytes)
      << "sizeof(TcpSession) = " << sizeof(TcpSession);
}

}  // namespace
}  // namespace ballast::l4
