// src/upstream/checks/check_conversation.cpp — what every conversation shares. Kept apart from
// the factory so a fuzz target links one protocol's parser and nothing else.
#include "upstream/checks/check_conversation.h"

#include <algorithm>
#include <cstring>

namespace ballast::upstream::checks {

Judgement CheckConversation::onEnd(int err) {
  if (err == 0) {
    return Judgement::unhealthy("closed before a verdict");
  }
  return Judgement::unhealthy(std::strerror(err));  // NOLINT(concurrency-mt-unsafe)
}

bool appendBounded(std::string& buffer, std::span<const uint8_t> in) {
  const size_t room = kMaxReplyBytes - std::min(buffer.size(), kMaxReplyBytes);
  const size_t n = std::min(room, in.size());
  buffer.append(reinterpret_cast<const char*>(in.data()), n);
  return n == in.size();
}

}  // namespace ballast::upstream::checks
