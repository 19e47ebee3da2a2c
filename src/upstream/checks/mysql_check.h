// src/upstream/checks/mysql_check.h — the verdict on a MySQL/MariaDB server's greeting: a
// protocol 10 handshake packet is a live server; an error packet (too many connections, host
// blocked) or anything else is not. The check sends nothing.
#pragma once

#include <span>

#include "upstream/checks/check_conversation.h"

namespace ballast::upstream::checks {

Judgement judgeMysqlGreeting(std::span<const uint8_t> reply);

std::unique_ptr<CheckConversation> makeMysqlConversation();

}  // namespace ballast::upstream::checks
