// src/upstream/checks/http_check.h — an HTTP/1.1 request per check; healthy on a complete
// response whose status is in range (and whose body holds expect_body, when set).
#pragma once

#include "upstream/checks/check_conversation.h"

namespace ballast::upstream::checks {

std::unique_ptr<CheckConversation> makeHttpConversation(const config::HealthCheck& check,
                                                        const std::string& backend_name);

}  // namespace ballast::upstream::checks
