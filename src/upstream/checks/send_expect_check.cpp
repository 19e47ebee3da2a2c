// src/upstream/checks/send_expect_check.cpp — over TCP the reply may come in pieces, so each
// piece is judged with all that came before; over UDP each datagram adds to the same buffer.
#include "upstream/checks/send_expect_check.h"

#include <re2/re2.h>

namespace ballast::upstream::checks {
namespace {

class SendExpectConversation final : public CheckConversation {
 public:
  explicit SendExpectConversation(const config::HealthCheck& c) : send_(c.send), expect_(c.expect) {
    if (!c.expect_regex.empty()) {
      regex_ = std::make_unique<re2::RE2>(c.expect_regex, re2::RE2::Quiet);
    }
  }
  Judgement start(std::string& out) override {
    out += send_;
    return Judgement::needMore();
  }
  Judgement onBytes(std::span<const uint8_t> in, std::string& /*out*/) override {
    const bool fits = appendBounded(reply_, in);
    return judgeExpected(reply_, expect_, regex_.get(), !fits);
  }
  Judgement onEnd(int err) override {
    if (err != 0) {
      return CheckConversation::onEnd(err);
    }
    return judgeExpected(reply_, expect_, regex_.get(), /*final=*/true);
  }

 private:
  std::string send_;
  std::string expect_;
  std::unique_ptr<re2::RE2> regex_;
  std::string reply_;
};

}  // namespace

Judgement judgeExpected(std::string_view reply, const std::string& expect, const re2::RE2* regex,
                        bool final) {
  const bool match = regex != nullptr ? re2::RE2::PartialMatch(reply, *regex)
                                      : reply.find(expect) != std::string_view::npos;
  if (match) {
    return Judgement::healthy("reply matched");
  }
  if (final) {
    return Judgement::unhealthy(reply.empty() ? "no reply" : "reply did not match");
  }
  return Judgement::needMore();
}

std::unique_ptr<CheckConversation> makeSendExpectConversation(const config::HealthCheck& check) {
  return std::make_unique<SendExpectConversation>(check);
}

}  // namespace ballast::upstream::checks
