// src/upstream/checks/check_factory.cpp — picks the conversation for a check type; the plain
// TCP check lives here, being nothing but a completed connect.
#include "upstream/checks/check_conversation.h"
#include "upstream/checks/dns_check.h"
#include "upstream/checks/grpc_check.h"
#include "upstream/checks/http_check.h"
#include "upstream/checks/mysql_check.h"
#include "upstream/checks/postgres_check.h"
#include "upstream/checks/redis_check.h"
#include "upstream/checks/send_expect_check.h"
#include "upstream/checks/tls_check.h"

namespace ballast::upstream::checks {
namespace {

class ConnectOnly final : public CheckConversation {
 public:
  Judgement start(std::string& /*out*/) override { return Judgement::healthy("connected"); }
  Judgement onBytes(std::span<const uint8_t> /*in*/, std::string& /*out*/) override {
    return Judgement::healthy("connected");
  }
};

}  // namespace

bool usesUdp(const config::HealthCheck& check) {
  return check.type == config::HealthCheckType::kDns ||
         (check.type == config::HealthCheckType::kSendExpect &&
          check.transport == config::CheckTransport::kUdp);
}

std::unique_ptr<CheckConversation> makeConversation(const config::HealthCheck& check,
                                                    const std::string& backend_name,
                                                    uint64_t random) {
  using T = config::HealthCheckType;
  switch (check.type) {
    case T::kTcp:
      return std::make_unique<ConnectOnly>();
    case T::kHttp:
      if (check.over_tls) {
        return makeTlsWrapped(check, makeHttpConversation(check, backend_name));
      }
      return makeHttpConversation(check, backend_name);
    case T::kTls:
      return makeTlsConversation(check);
    case T::kPostgres:
      return makePostgresConversation(check);
    case T::kMysql:
      return makeMysqlConversation(check);
    case T::kRedis:
      return makeRedisConversation(check);
    case T::kSendExpect:
      return makeSendExpectConversation(check);
    case T::kDns:
      return makeDnsConversation(check, static_cast<uint16_t>(random));
    case T::kGrpc:
      if (check.over_tls) {
        return makeTlsWrapped(check, makeGrpcConversation(check, backend_name));
      }
      return makeGrpcConversation(check, backend_name);
    default:
      return nullptr;
  }
}

}  // namespace ballast::upstream::checks
