// src/l7/content_rules.h — the content rules of the exchange core (config/content_types.h):
// CORS, direct responses, redirects, rewrites and error pages. They only read the request and
// write the Exchange; both codecs turn what they wrote into their wire's answer or request.
//
//   beginRequest ─▶ corsPreflight (answers preflights; else notes the CORS response fields)
//                ─▶ filters ─▶ routeAnswer (respond: / redirect:) ─▶ applyRewrite
//   an answer of ours ─▶ useErrorPage (the page for its status, when one is configured)
#pragma once

#include <vector>

#include "config/config_types.h"
#include "l7/exchange.h"
#include "proto/http1/message.h"

namespace ballast::l7 {

// The CORS policy in force for ex's route (the route's, else the listener's); null when off.
const config::CorsPolicy* corsPolicyFor(const config::Listener& listener, const Exchange& ex);

// A request on a CORS route: a preflight gets its answer here (a 204 verdict, with the
// Access-Control-* fields when the origin and method are allowed); any other request from an
// allowed origin has its response fields noted in ex (response_add), and the backend's own
// Access-Control-* fields are dropped either way.
Verdict applyCors(const config::CorsPolicy& cors, Exchange& ex, const RequestView& request);

// The route's own answer: `respond:`, or `redirect:` when its regex (if any) matches the path.
// status 0: the request goes on.
Verdict routeAnswer(const config::Route& route, bool tls, Exchange& ex, const RequestView& request);

// `rewrite:`: fills ex.upstream_target and ex.upstream_host (empty: unchanged).
void applyRewrite(const config::PathRewrite& rewrite, Exchange& ex, const RequestView& request);

// An answer of ours with `status`: uses the configured page for it (the route's error_pages,
// else the listener's) unless a body was already chosen. True when ex now has a body.
bool useErrorPage(const config::Listener& listener, Exchange& ex, uint16_t status);

// Whether a backend's answer with `status` is to be replaced by an error page.
bool replacesBackendError(const config::Listener& listener, const Exchange& ex, uint16_t status);

// Applies ex's response edits (CORS; a rate limit's RateLimit fields, formatted into ex) to the
// fields about to be sent to the client.
void applyResponseEdits(Exchange& ex, std::vector<proto::http1::Header>& fields);

}  // namespace ballast::l7
