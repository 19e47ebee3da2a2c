// src/l7/cache_tap.cpp — replaying stored responses, storing the backend's, revalidation,
// stale-if-error and the wait of coalesced requests.
#include "l7/cache_tap.h"

#include <algorithm>

#include "cache/freshness.h"
#include "core/clock.h"
#include "core/log.h"
#include "l7/cache_lookup.h"
#include "l7/compression.h"
#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

namespace h1 = proto::http1;
using Mode = CacheState::Mode;

constexpr uint64_t kSliceBytes = 64 * 1024;  // a replay hands the session this much at a time
constexpr uint64_t kPollMs = 2;              // a coalesced request re-checks the store this often
constexpr uint64_t kMsPerS = 1000;
constexpr uint16_t kNotModified = 304;
constexpr uint16_t kNoContent = 204;
constexpr uint16_t kFirstError = 500;
// Stored bodies up to this size get a compressed copy at their first compressed hit (compressed
// at once, on the loop: about 6 ms for gzip level 6). Larger ones are compressed as they stream,
// in slices, at every hit.
constexpr uint64_t kMaxCopyEncoded = 1024 * 1024;

// Fields that describe one connection or one framing, never stored (Age is recomputed).
bool notStored(std::string_view name) {
  for (const std::string_view f :
       {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
        "upgrade", "content-length", "age", "x-cache"}) {
    if (h1::equalsIgnoreCase(name, f)) {
      return true;
    }
  }
  return false;
}

// RFC 9110 §15.4.5: what a 304 carries of the response it stands for.
bool keptIn304(std::string_view name) {
  for (const std::string_view f :
       {"cache-control", "content-location", "date", "etag", "expires", "vary", "last-modified"}) {
    if (h1::equalsIgnoreCase(name, f)) {
      return true;
    }
  }
  return false;
}

void applyFreshness(cache::StoredResponse& r, const cache::ResponseFreshness& f) {
  r.lifetime_s = f.lifetime_s;
  r.stale_while_revalidate_s = f.stale_while_revalidate_s;
  r.stale_if_error_s = f.stale_if_error_s;
  r.must_revalidate = f.must_revalidate;
  r.no_cache = f.no_cache;
  r.etag.assign(f.etag);
  r.last_modified.assign(f.last_modified);
}

}  // namespace

CacheTap::CacheTap(core::EventLoop& loop, const ExchangeEnv& env, UpstreamSink& sink,
                   CacheTapOwner& owner)
    : loop_(loop), env_(env), sink_(sink), owner_(owner) {
  timer_.bind(&CacheTap::onTimer, this);
}

CacheTap::~CacheTap() { core::TimerWheel::cancel(timer_); }

void CacheTap::begin(Exchange& ex) {
  abandon();
  ex_ = &ex;
}

void CacheTap::abandon() {
  ++generation_;
  core::TimerWheel::cancel(timer_);
  replay_.reset();
  pending_.reset();
  pending_body_.clear();
  refreshed_.reset();
  serve_.reset();
  waiting_ = false;
  if (ex_ != nullptr && ex_->cache.filler) {
    ex_->cache.filler = false;
    ex_->cache.store->releaseFill(ex_->cache.key);
  }
  ex_ = nullptr;
}

void CacheTap::serveStored() {
  serve_ = ex_->cache.entry;
  serve_label_ = cacheLabel(ex_->cache.mode);
  // At the next loop turn, never from inside the session's request parsing: the answer may end
  // the exchange, and the session then reads the next request.
  loop_.timers().scheduleSoon(timer_);
}

void CacheTap::wait() {
  waiting_ = true;
  wait_until_ms_ =
      core::unixMs() + static_cast<uint64_t>(ex_->cache.policy->coalesce_timeout.count());
  loop_.timers().schedule(timer_, kPollMs);
}

void CacheTap::resume() {
  if (replay_) {
    loop_.timers().scheduleSoon(timer_);
  }
}

void CacheTap::onTimer(void* self) {
  auto* t = static_cast<CacheTap*>(self);
  if (t->serve_) {
    t->startReplay(std::exchange(t->serve_, nullptr), t->serve_label_);
    return;
  }
  if (t->replay_) {
    t->pump();
    return;
  }
  if (!t->waiting_ || t->ex_ == nullptr) {
    return;
  }
  CacheState& c = t->ex_->cache;
  const uint64_t now = core::unixMs();
  const cache::Store::Lookup found = c.store->find(c.key, c.fields, now);
  if (found.entry && found.entry->fresh(now)) {
    t->waiting_ = false;
    c.store->counters().coalesced.fetch_add(1, std::memory_order_relaxed);
    c.mode = Mode::kHit;
    c.entry = found.entry;
    t->startReplay(found.entry, "HIT");
    return;
  }
  if (found.filling && now < t->wait_until_ms_) {
    t->loop_.timers().schedule(t->timer_, kPollMs);
    return;
  }
  // The fill gave up (the response could not be stored) or took too long: go ourselves.
  t->waiting_ = false;
  if (found.entry) {
    c.entry = found.entry;
  }
  c.filler =
      c.store->claimFill(c.key, now, static_cast<uint64_t>(c.policy->coalesce_timeout.count()));
  c.mode = Mode::kMiss;
  t->owner_.goUpstream();
}

void CacheTap::startReplay(cache::StoredPtr entry, std::string_view label) {
  CacheState& c = ex_->cache;
  const uint64_t now = core::unixMs();
  const bool not_modified = cache::notModified(
      cache::Conditional{c.if_none_match, c.if_modified_since}, entry->etag, entry->last_modified);
  const uint16_t status = not_modified ? kNotModified : entry->status;
  const bool has_body = !not_modified && !c.head_only && status != kNoContent;
  fields_.clear();
  for (const auto& f : entry->fields) {
    if (!not_modified || keptIn304(f.name)) {
      fields_.push_back(f);
    }
  }
  age_ = std::to_string(entry->ageS(now));
  fields_.push_back({"Age", age_});
  fields_.push_back({"X-Cache", label});
  std::shared_ptr<const std::string> body =
      has_body ? replayBody(entry, status) : std::shared_ptr<const std::string>();
  const uint64_t size = body ? body->size() : (entry->body ? entry->body->size() : 0);
  if (!not_modified && status != kNoContent) {
    length_ = std::to_string(size);
    fields_.push_back({"Content-Length", length_});  // HTTP/2 takes it from the fields
  }
  auto& counters = c.store->counters();
  if (label == "STALE") {
    counters.stale.fetch_add(1, std::memory_order_relaxed);
  } else if (label == "HIT") {
    counters.hits.fetch_add(1, std::memory_order_relaxed);
  }
  if (has_body) {
    counters.hit_bytes.fetch_add(size, std::memory_order_relaxed);
  }
  h1::ResponseHead out;
  out.status = status;
  out.reason = h1::reasonPhrase(static_cast<h1::Status>(status));
  out.version_minor = 1;
  out.headers = fields_;
  out.body = has_body ? h1::BodyKind::kLength : h1::BodyKind::kNone;
  out.content_length = size;
  out.has_content_length = !not_modified && status != kNoContent;
  replay_ = std::make_unique<Replay>(Replay{std::move(entry), std::move(body), label, 0, has_body});
  const uint64_t generation = generation_;
  if (!sink_.onResponseHead(out)) {
    if (generation == generation_) {
      replay_.reset();
    }
    return;
  }
  if (generation == generation_) {
    pump();
  }
}

std::shared_ptr<const std::string> CacheTap::replayBody(const cache::StoredPtr& entry,
                                                        uint16_t status) {
  const std::shared_ptr<const std::string>& stored = entry->body;
  if (!stored || stored->size() > kMaxCopyEncoded ||
      ex_->accept_encoding == compress::Encoding::kNone || env_.listener == nullptr) {
    return stored;
  }
  const std::vector<h1::Header> plain = fields_;
  h1::ResponseHead head;
  head.status = status;
  head.headers = plain;
  head.body = h1::BodyKind::kLength;
  head.content_length = stored->size();
  head.has_content_length = true;
  if (!startCompression(*env_.listener, *ex_, status, head, fields_)) {
    return stored;  // this response is not compressed for this client (type, size, …)
  }
  CacheState& c = ex_->cache;
  std::shared_ptr<const std::string> copy = entry->encoded.get(ex_->accept_encoding);
  if (!copy) {
    std::string out;
    const auto* data = reinterpret_cast<const uint8_t*>(stored->data());
    const bool ok =
        compressBody(*ex_, {data, stored->size()}, true, [&out](std::span<const uint8_t> o) {
          out.append(reinterpret_cast<const char*>(o.data()), o.size());
          return true;
        });
    if (!ok) {
      ex_->compressor.reset();
      fields_ = plain;  // sent as it is: the client accepts identity too
      return stored;
    }
    copy = c.store->attachEncoded(c.key, *entry, ex_->accept_encoding,
                                  std::make_shared<const std::string>(std::move(out)));
  }
  // The copy goes out as it is; compressor work, if any was done now, is in compress_in/out.
  ex_->compressor.reset();
  ex_->encoded_copy = true;
  return copy;
}

void CacheTap::pump() {
  while (replay_) {
    const uint64_t size = replay_->body && replay_->bytes ? replay_->bytes->size() : 0;
    if (replay_->offset >= size) {
      replay_.reset();
      sink_.onResponseEnd({}, true);
      return;
    }
    const uint64_t take = std::min(kSliceBytes, size - replay_->offset);
    const auto* data = reinterpret_cast<const uint8_t*>(replay_->bytes->data());
    const uint64_t generation = generation_;
    if (!sink_.onResponseBody({data + replay_->offset, take}) || generation != generation_) {
      if (generation == generation_) {
        replay_.reset();
      }
      return;
    }
    replay_->offset += take;
    if (!sink_.onResponseBatchDone() || generation != generation_) {
      return;  // backpressure: resume() continues
    }
  }
}

bool CacheTap::staleOnError(uint16_t status) const {
  if (ex_ == nullptr || status < kFirstError || !ex_->cache.entry) {
    return false;
  }
  const cache::StoredResponse& e = *ex_->cache.entry;
  return !e.must_revalidate && e.staleS(core::unixMs()) <= e.stale_if_error_s &&
         e.stale_if_error_s > 0;
}

void CacheTap::stopStoring() {
  pending_.reset();
  pending_body_.clear();
  pending_body_.shrink_to_fit();
  if (ex_ != nullptr && ex_->cache.filler) {
    ex_->cache.filler = false;
    ex_->cache.store->releaseFill(ex_->cache.key);
  }
}

bool CacheTap::onResponseHead(const h1::ResponseHead& head) {
  if (ex_ == nullptr || ex_->cache.mode == Mode::kOff || head.status < 200) {
    return sink_.onResponseHead(head);
  }
  CacheState& c = ex_->cache;
  const uint64_t now = core::unixMs();
  const int64_t now_s = static_cast<int64_t>(now / kMsPerS);
  if (c.mode == Mode::kRevalidate && head.status == kNotModified && c.entry) {
    // RFC 9111 §4.3.4: the stored response, with the 304's fields replacing its own.
    auto fresh = std::make_shared<cache::StoredResponse>(*c.entry);
    std::vector<h1::Header> merged;
    for (const auto& f : c.entry->fields) {
      const bool replaced =
          std::any_of(head.headers.begin(), head.headers.end(),
                      [&](const auto& n) { return h1::equalsIgnoreCase(n.name, f.name); });
      if (!replaced) {
        merged.push_back(f);
      }
    }
    for (const auto& f : head.headers) {
      if (!notStored(f.name)) {
        merged.push_back(f);
      }
    }
    fresh->setFields(merged);
    const cache::ResponseFreshness f = cache::assessResponse(
        c.entry->status, fresh->fields, c.authorized, c.policy->heuristic_freshness, now_s);
    applyFreshness(*fresh, f);
    fresh->response_ms = now;
    fresh->initial_age_s = cache::initialAge(head.headers, c.request_ms, now);
    c.filler = false;
    if (f.storable) {
      c.store->insert(c.key, fresh);
    } else {
      c.store->purgeKey(c.key);
      c.store->releaseFill(c.key);
    }
    c.store->counters().revalidated.fetch_add(1, std::memory_order_relaxed);
    refreshed_ = std::move(fresh);
    return true;  // the 304 has no body: onResponseEnd replays the refreshed entry
  }
  if (staleOnError(head.status)) {
    owner_.releaseConnector(false);
    stopStoring();
    c.mode = Mode::kStale;
    startReplay(c.entry, "STALE");
    return false;
  }
  if (c.may_store && (c.mode == Mode::kMiss || c.mode == Mode::kRevalidate)) {
    const cache::ResponseFreshness f = cache::assessResponse(
        head.status, head.headers, c.authorized, c.policy->heuristic_freshness, now_s);
    const bool fits = !head.has_content_length || head.content_length <= c.policy->max_object_size;
    std::vector<std::string_view> vary_lists;
    for (const auto& h : head.headers) {
      if (h1::equalsIgnoreCase(h.name, "vary")) {
        vary_lists.push_back(h.value);
      }
    }
    if (f.storable && fits && head.body != h1::BodyKind::kUntilClose) {
      pending_ = std::make_unique<cache::StoredResponse>();
      if (!cache::varyValues(vary_lists, c.fields, pending_->vary)) {
        pending_.reset();
      }
    }
    if (pending_) {
      pending_->status = head.status;
      std::vector<h1::Header> kept;
      kept.reserve(head.headers.size());
      for (const auto& h : head.headers) {
        if (!notStored(h.name)) {
          kept.push_back(h);
        }
      }
      pending_->setFields(kept);
      applyFreshness(*pending_, f);
      pending_->initial_age_s = cache::initialAge(head.headers, c.request_ms, now);
      pending_body_.clear();
      if (head.has_content_length) {
        pending_body_.reserve(head.content_length);
      }
    }
  }
  if (!pending_ && c.filler) {
    c.filler = false;
    c.store->releaseFill(c.key);  // waiters go upstream themselves
  }
  if (c.mode == Mode::kRevalidate) {
    c.mode = Mode::kMiss;  // the backend sent a new response, not a 304
  }
  (c.mode == Mode::kBypass ? c.store->counters().bypass : c.store->counters().misses)
      .fetch_add(1, std::memory_order_relaxed);
  fields_.assign(head.headers.begin(), head.headers.end());
  fields_.push_back({"X-Cache", c.mode == Mode::kBypass ? "BYPASS" : "MISS"});
  h1::ResponseHead out = head;
  out.headers = fields_;
  return sink_.onResponseHead(out);
}

bool CacheTap::onResponseBody(std::span<const uint8_t> body) {
  if (pending_) {
    if (pending_body_.size() + body.size() > ex_->cache.policy->max_object_size) {
      stopStoring();  // too big after all (no Content-Length): it streams on unstored
    } else {
      pending_body_.append(reinterpret_cast<const char*>(body.data()), body.size());
    }
  }
  return sink_.onResponseBody(body);
}

void CacheTap::onResponseEnd(std::span<const h1::Header> trailers, bool reusable) {
  if (refreshed_) {
    owner_.releaseConnector(reusable);
    startReplay(std::exchange(refreshed_, nullptr), "REVALIDATED");
    return;
  }
  if (pending_) {
    if (trailers.empty()) {
      CacheState& c = ex_->cache;
      pending_->body = std::make_shared<const std::string>(std::move(pending_body_));
      pending_->response_ms = core::unixMs();
      c.filler = false;
      c.store->insert(c.key, std::shared_ptr<const cache::StoredResponse>(std::move(pending_)));
      pending_body_ = std::string();
    } else {
      stopStoring();  // trailers are part of the answer; we keep none
    }
  }
  sink_.onResponseEnd(trailers, reusable);
}

void CacheTap::onUpstreamError(uint16_t status, const char* why) {
  if (staleOnError(status)) {
    stopStoring();
    ex_->cache.mode = Mode::kStale;
    core::LogLine(core::LogLevel::kInfo, "cache.stale_if_error", core::LogRepeat::kLimited)
        .str("key", ex_->cache.key)
        .str("reason", why);
    startReplay(ex_->cache.entry, "STALE");
    return;
  }
  stopStoring();
  sink_.onUpstreamError(status, why);
}

}  // namespace ballast::l7
