// src/upstream/checks/mysql_check.h — the verdict on a MySQL/MariaDB server's greeting: a
// protocol 10 handshake packet is a live server; an error packet (too many connections, host
// blocked) or anything else is not. Without a user the check sends nothing; with one it answers
// the greeting with a login (empty password) and COM_QUIT, as HAProxy's mysql-check does, so
// the server sees a clean session instead of a handshake error counted against our address.
#pragma once

#include <span>

#include "upstream/checks/check_conversation.h"

namespace ballast::upstream::checks {

Judgement judgeMysqlGreeting(std::span<const uint8_t> reply);

// A HandshakeResponse41 for `user` with an empty password, then COM_QUIT.
std::string mysqlLoginAndQuit(const std::string& user);

std::unique_ptr<CheckConversation> makeMysqlConversation(const config::HealthCheck& check);

}  // namespace ballast::upstream::checks
