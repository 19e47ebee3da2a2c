// src/l7/cache_lookup.cpp — key, lookup and the decision between hit, stale, revalidation, miss
// and waiting for another request's fill.
#include "l7/cache_lookup.h"

#include "core/clock.h"
#include "policy/url_template.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

namespace h1 = proto::http1;
using Mode = CacheState::Mode;

void copyFields(const RequestView& request, CacheState& c) {
  size_t total = 0;
  for (const auto& f : request.headers) {
    total += f.name.size() + f.value.size();
  }
  c.field_text.reserve(total);
  for (const auto& f : request.headers) {
    c.field_text.append(f.name).append(f.value);
  }
  size_t at = 0;
  c.fields.reserve(request.headers.size());
  for (const auto& f : request.headers) {
    const std::string_view name(c.field_text.data() + at, f.name.size());
    at += f.name.size();
    c.fields.push_back({name, std::string_view(c.field_text.data() + at, f.value.size())});
    at += f.value.size();
  }
}

// Asks the backend whether the stale entry still holds: the client's own conditionals are
// replaced by the entry's validators.
void makeConditional(Exchange& ex) {
  CacheState& c = ex.cache;
  ex.drop_fields.push_back("If-None-Match");
  ex.drop_fields.push_back("If-Modified-Since");
  if (!c.entry->etag.empty()) {
    ex.add_fields.emplace_back("If-None-Match", c.entry->etag);
  }
  if (!c.entry->last_modified.empty()) {
    ex.add_fields.emplace_back("If-Modified-Since", c.entry->last_modified);
  }
}

}  // namespace

const config::CachePolicy* cachePolicyFor(const config::Listener& listener, const Exchange& ex) {
  const config::CachePolicy* p = ex.route_config != nullptr && ex.route_config->cache
                                     ? &*ex.route_config->cache
                                     : &listener.http.cache;
  return p->enabled ? p : nullptr;
}

std::string_view cacheLabel(Mode mode) {
  switch (mode) {
    case Mode::kHit:
      return "HIT";
    case Mode::kStale:
      return "STALE";
    case Mode::kBypass:
      return "BYPASS";
    case Mode::kRevalidate:
      return "REVALIDATED";
    default:
      return "MISS";
  }
}

void lookupCache(const config::Listener& listener, cache::Store* store, Exchange& ex,
                 const RequestView& request, bool tls, uint64_t now_ms) {
  const config::CachePolicy* policy = cachePolicyFor(listener, ex);
  if (policy == nullptr || store == nullptr) {
    return;
  }
  CacheState& c = ex.cache;
  c.store = store;
  c.policy = policy;
  c.request_ms = now_ms;
  const bool get = request.method == "GET";
  c.head_only = request.method == "HEAD";
  bool ranged = false;
  for (const auto& f : request.headers) {
    if (h1::equalsIgnoreCase(f.name, "range")) {
      ranged = true;
    } else if (h1::equalsIgnoreCase(f.name, "authorization")) {
      c.authorized = true;
    } else if (h1::equalsIgnoreCase(f.name, "if-none-match")) {
      c.if_none_match.assign(f.value);
    } else if (h1::equalsIgnoreCase(f.name, "if-modified-since")) {
      c.if_modified_since.assign(f.value);
    }
  }
  if ((!get && !c.head_only) || ranged) {
    c.mode = Mode::kBypass;  // Range: passed through whole; we do not cut stored bodies
    return;
  }
  const std::string_view target = request.target;
  const size_t q = target.find('?');
  policy::TemplateValues values;
  values.scheme = tls ? "https" : "http";
  values.host = request.host;
  values.path = target.substr(0, q);
  values.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  policy::expandTemplate(policy->key, values, c.key);
  copyFields(request, c);
  const cache::Store::Lookup found = store->find(c.key, c.fields, now_ms);
  c.entry = found.entry;
  const bool conditional = !c.if_none_match.empty() || !c.if_modified_since.empty();
  // What goes upstream is stored only for a plain GET: a HEAD has no body, and a client's own
  // conditional may be answered 304 by the backend.
  c.may_store = get && !conditional;
  if (c.entry && c.entry->fresh(now_ms)) {
    c.mode = Mode::kHit;
    return;
  }
  if (c.entry) {
    const uint32_t stale = c.entry->staleS(now_ms);
    const bool validators = !c.entry->etag.empty() || !c.entry->last_modified.empty();
    if (store->claimFill(c.key, now_ms, static_cast<uint64_t>(policy->coalesce_timeout.count()))) {
      c.filler = true;
      c.may_store = get;
      if (validators) {
        c.mode = Mode::kRevalidate;
        makeConditional(ex);
      } else {
        c.mode = Mode::kMiss;
      }
      return;
    }
    // Someone else is refreshing it: within stale-while-revalidate this one is answered stale
    // at once (NGINX's proxy_cache_use_stale updating), else it waits like any miss.
    if (!c.entry->must_revalidate && stale <= c.entry->stale_while_revalidate_s) {
      c.mode = Mode::kStale;
      return;
    }
    c.mode = policy->coalesce ? Mode::kWait : Mode::kMiss;
    return;
  }
  if (!c.may_store) {
    c.mode = Mode::kMiss;
    return;
  }
  if (store->claimFill(c.key, now_ms, static_cast<uint64_t>(policy->coalesce_timeout.count()))) {
    c.filler = true;
    c.mode = Mode::kMiss;
    return;
  }
  c.mode = policy->coalesce ? Mode::kWait : Mode::kMiss;
}

}  // namespace ballast::l7
