// src/upstream/checks/redis_check.h — a Redis check: optional AUTH, PING, optional ROLE, sent
// at once; healthy when AUTH says +OK, PING says +PONG and (if asked) ROLE names a master.
#pragma once

#include <span>
#include <string>

#include "upstream/checks/check_conversation.h"

namespace ballast::upstream::checks {

// The commands, as RESP arrays (a password may hold spaces).
std::string redisCommands(const std::string& password, bool with_auth, bool ask_role);
// The replies so far, in order; kNeedMore until each expected reply is complete.
Judgement judgeRedisReplies(std::span<const uint8_t> reply, bool with_auth, bool ask_role);

std::unique_ptr<CheckConversation> makeRedisConversation(const config::HealthCheck& check);

}  // namespace ballast::upstream::checks
