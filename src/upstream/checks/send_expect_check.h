// src/upstream/checks/send_expect_check.h — the generic check: send some bytes, then healthy
// once the reply holds a string or matches an RE2 regex (anywhere in the first 64 KiB).
#pragma once

#include <span>
#include <string>

#include "upstream/checks/check_conversation.h"

namespace re2 {
class RE2;
}

namespace ballast::upstream::checks {

// `reply` is all bytes so far; `final` when no more will come (peer closed, buffer full).
// `regex` may be null when `expect` is set.
Judgement judgeExpected(std::string_view reply, const std::string& expect, const re2::RE2* regex,
                        bool final);

std::unique_ptr<CheckConversation> makeSendExpectConversation(const config::HealthCheck& check);

}  // namespace ballast::upstream::checks
