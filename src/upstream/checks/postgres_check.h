// src/upstream/checks/postgres_check.h — a PostgreSQL StartupMessage and the verdict on the
// server's first message: an authentication request (R) or ReadyForQuery (Z) is a live server;
// an ErrorResponse (E) or anything else is not.
#pragma once

#include <span>
#include <string>

#include "upstream/checks/check_conversation.h"

namespace ballast::upstream::checks {

std::string postgresStartupMessage(const std::string& user, const std::string& database);
// The whole reply so far; kNeedMore until the first message is complete enough to judge.
Judgement judgePostgresReply(std::span<const uint8_t> reply);

std::unique_ptr<CheckConversation> makePostgresConversation(const config::HealthCheck& check);

}  // namespace ballast::upstream::checks
