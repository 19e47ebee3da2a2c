// src/upstream/checks/http_check.cpp — the response is read with the proxy's own strict parser,
// so a backend the proxy could not talk to is not called healthy either.
#include "upstream/checks/http_check.h"

#include <algorithm>

#include "proto/http1/response_parser.h"

namespace ballast::upstream::checks {
namespace {

class HttpConversation final : public CheckConversation {
 public:
  HttpConversation(const config::HealthCheck& c, const std::string& backend_name)
      : method_(c.method),
        expect_body_(c.expect_body),
        status_min_(c.expect_status_min),
        status_max_(c.expect_status_max) {
    request_ = c.method + " " + c.path +
               " HTTP/1.1\r\nHost: " + (c.host.empty() ? backend_name : c.host) +
               "\r\nUser-Agent: ballast-health-check\r\nConnection: close\r\n\r\n";
  }
  Judgement start(std::string& out) override {
    parser_.setRequestMethod(method_);
    out += request_;
    return Judgement::needMore();
  }
  Judgement onBytes(std::span<const uint8_t> in, std::string& /*out*/) override {
    while (true) {
      const auto p = parser_.next(in);
      in = in.subspan(p.consumed);
      switch (p.event) {
        case proto::http1::Event::kHead:
          status_ = parser_.head().status;
          break;
        case proto::http1::Event::kBody:
          if (body_.size() < kMaxReplyBytes) {
            body_.append(reinterpret_cast<const char*>(p.body.data()),
                         std::min(p.body.size(), kMaxReplyBytes - body_.size()));
          }
          break;
        case proto::http1::Event::kNeedMore:
          return Judgement::needMore();
        case proto::http1::Event::kMessageEnd:
          return judge();
        default:  // tunnel, error
          return Judgement::unhealthy(status_ == 0 ? "malformed response"
                                                   : "malformed response after status " +
                                                         std::to_string(status_));
      }
    }
  }
  Judgement onEnd(int err) override {
    // A close-delimited body ends here; anything else is a failed check.
    if (err == 0 && parser_.finish() == proto::http1::Event::kMessageEnd) {
      return judge();
    }
    return CheckConversation::onEnd(err);
  }

 private:
  Judgement judge() const {
    if (status_ < status_min_ || status_ > status_max_) {
      return Judgement::unhealthy("status " + std::to_string(status_));
    }
    if (!expect_body_.empty() && body_.find(expect_body_) == std::string::npos) {
      return Judgement::unhealthy("status " + std::to_string(status_) + ", body without \"" +
                                  expect_body_ + "\"");
    }
    return Judgement::healthy("status " + std::to_string(status_));
  }

  std::string method_;
  std::string expect_body_;
  uint16_t status_min_;
  uint16_t status_max_;
  std::string request_;
  proto::http1::ResponseParser parser_;
  std::string body_;
  uint16_t status_ = 0;
};

}  // namespace

std::unique_ptr<CheckConversation> makeHttpConversation(const config::HealthCheck& check,
                                                        const std::string& backend_name) {
  return std::make_unique<HttpConversation>(check, backend_name);
}

}  // namespace ballast::upstream::checks
