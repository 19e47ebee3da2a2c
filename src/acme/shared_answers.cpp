// src/acme/shared_answers.cpp — deadlines and the own-message filter for shared answers.
#include "acme/shared_answers.h"

#include <algorithm>

namespace ballast::acme {
namespace {

// Own messages remembered at once: one per challenge change this node made recently.
constexpr size_t kMaxOwnMessages = 2 * kMaxSharedAnswers;

}  // namespace

bool SharedAnswers::admit(Kind kind, const std::string& name, uint64_t now_ms) {
  Key key{kind, name};
  const auto it = deadline_.find(key);
  if (it == deadline_.end() && deadline_.size() >= kMaxSharedAnswers) {
    return false;
  }
  deadline_[std::move(key)] = now_ms + kSharedAnswerTtlMs;
  return true;
}

void SharedAnswers::done(Kind kind, const std::string& name) { deadline_.erase({kind, name}); }

std::vector<SharedAnswers::Key> SharedAnswers::expire(uint64_t now_ms) {
  std::vector<Key> out;
  for (auto it = deadline_.begin(); it != deadline_.end();) {
    if (it->second <= now_ms) {
      out.push_back(it->first);
      it = deadline_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

void SharedAnswers::published(std::string_view text, uint64_t now_ms) {
  while (!own_.empty() &&
         (own_.size() >= kMaxOwnMessages || own_.front().second + kSharedAnswerTtlMs <= now_ms)) {
    own_.pop_front();
  }
  own_.emplace_back(std::string(text), now_ms);
}

bool SharedAnswers::ours(std::string_view text, uint64_t now_ms) {
  const auto it = std::find_if(own_.begin(), own_.end(), [&](const auto& o) {
    return o.first == text && o.second + kSharedAnswerTtlMs > now_ms;
  });
  if (it == own_.end()) {
    return false;
  }
  own_.erase(it);
  return true;
}

}  // namespace ballast::acme
