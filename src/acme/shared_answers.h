// src/acme/shared_answers.h — the bookkeeping of challenge answers that other nodes shared
// through the store: which ones this node installed and until when, so that an answer whose
// "done" never came (its node died mid-order) is withdrawn, a flood of them is bounded, and this
// node's own messages, heard back on the channel, are neither installed twice nor counted as
// received. Pure (time is passed in); the store's subscriber thread is its only user.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ballast::acme {

// CAs validate within minutes of a challenge being answered; an answer older than this has no
// validation left to serve.
inline constexpr uint64_t kSharedAnswerTtlMs = 15 * 60 * 1000;
// Far above what one cluster orders at once (an answer per domain being validated).
inline constexpr size_t kMaxSharedAnswers = 256;

class SharedAnswers {
 public:
  enum class Kind : uint8_t { kHttp01, kTlsAlpn01 };
  using Key = std::pair<Kind, std::string>;  // the token (http-01) or the domain (tls-alpn-01)

  // An answer arrived: false when kMaxSharedAnswers others are installed (refuse it). An answer
  // installed again (a retry) gets a new deadline.
  bool admit(Kind kind, const std::string& name, uint64_t now_ms);
  void done(Kind kind, const std::string& name);
  // Removes and returns the answers past their deadline, for the caller to withdraw.
  std::vector<Key> expire(uint64_t now_ms);
  size_t size() const { return deadline_.size(); }

  // This node published `text`; heard back within kSharedAnswerTtlMs, it is ours.
  void published(std::string_view text, uint64_t now_ms);
  // True (once) for a message this node published.
  bool ours(std::string_view text, uint64_t now_ms);

 private:
  std::map<Key, uint64_t> deadline_;
  std::deque<std::pair<std::string, uint64_t>> own_;  // text, when published; oldest first
};

}  // namespace ballast::acme
