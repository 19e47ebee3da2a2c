// src/l7/cache_tap.h — the cache between an exchange's upstream connector and its codec
// session. It is the connector's sink and passes everything on to the session's, with three
// jobs when the route caches:
//   - answering from the store (a hit, a stale answer, a 304 to a client's conditional): it
//     replays the stored response into the session's sink as a connector would, in slices that
//     respect the session's backpressure;
//   - storing what the backend sends, when it may be stored and fits max_object_size (else the
//     copy is dropped and the response streams on untouched);
//   - compressed answers from the store: when the client's coding applies (`compress:`), the
//     body is compressed once, at the first such hit, and the copy kept with the entry
//     (cache::EncodedBodies); later hits send the copy as it is;
//   - revalidation and errors: a backend's 304 refreshes the stored entry, which is then
//     replayed; a failure or a 5xx within stale-if-error is answered with the stale entry.
// A request waiting for another's fill (coalescing) re-checks the store every few
// milliseconds, as NGINX's proxy_cache_lock does every 500, until the entry is there, the fill is
// abandoned, or coalesce_timeout passes; then it goes upstream itself.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "l7/exchange_core.h"
#include "l7/h1_upstream.h"

namespace ballast::l7 {

// What the tap asks of the upstream side that owns it (HttpUpstream).
class CacheTapOwner {
 public:
  // Lets go of the connector's backend connection (the tap answers instead).
  virtual void releaseConnector(bool reusable) = 0;
  // A waiting request stops waiting: forward it as a miss.
  virtual void goUpstream() = 0;

 protected:
  ~CacheTapOwner() = default;
};

class CacheTap final : public UpstreamSink {
 public:
  CacheTap(core::EventLoop& loop, const ExchangeEnv& env, UpstreamSink& sink, CacheTapOwner& owner);
  ~CacheTap();
  CacheTap(const CacheTap&) = delete;
  CacheTap& operator=(const CacheTap&) = delete;

  // A new exchange: nothing is stored or replayed yet.
  void begin(Exchange& ex);
  // Answers ex from ex.cache.entry (hit, stale) at once.
  void serveStored();
  // Starts waiting for another request's fill.
  void wait();
  bool replaying() const { return replay_ != nullptr; }
  bool waiting() const { return waiting_; }
  // The session can take more body: continue a replay paused by backpressure.
  void resume();
  // The exchange is over (or given up): a fill we hold is released, nothing more is sent.
  void abandon();

  // UpstreamSink: the connector's calls, passed on to the session's sink.
  void onUpstreamConnecting() override { sink_.onUpstreamConnecting(); }
  void onUpstreamConnected() override { sink_.onUpstreamConnected(); }
  bool onResponseHead(const proto::http1::ResponseHead& head) override;
  bool onResponseBody(std::span<const uint8_t> body) override;
  void onResponseEnd(std::span<const proto::http1::Header> trailers, bool reusable) override;
  void onTunnel(std::span<const uint8_t> rest) override { sink_.onTunnel(rest); }
  void onTunnelData(core::ChunkId id, uint32_t len) override { sink_.onTunnelData(id, len); }
  void onTunnelEnd(int err) override { sink_.onTunnelEnd(err); }
  void onUpstreamError(uint16_t status, const char* why) override;
  void onRequestWritable() override { sink_.onRequestWritable(); }
  bool onResponseBatchDone() override { return sink_.onResponseBatchDone(); }
  // A body being stored must pass through here: no pipe for it.
  int responseBodyPipe(uint64_t length) override {
    return pending_ || refreshed_ ? -1 : sink_.responseBodyPipe(length);
  }
  void onResponseSpliced(uint32_t len) override { sink_.onResponseSpliced(len); }

 private:
  struct Replay {
    cache::StoredPtr entry;
    std::shared_ptr<const std::string> bytes;  // the stored body or our compressed copy of it
    std::string_view label;
    uint64_t offset = 0;
    bool body = true;
  };
  void startReplay(cache::StoredPtr entry, std::string_view label);
  // The body a replay of `entry` sends: our compressed copy when the client's coding applies to
  // it (fields_ then edited as for a compressed answer), made now if no hit made it before; else
  // the stored body, fields_ untouched.
  std::shared_ptr<const std::string> replayBody(const cache::StoredPtr& entry, uint16_t status);
  void pump();
  bool staleOnError(uint16_t status) const;
  static void onTimer(void* self);
  void stopStoring();

  core::EventLoop& loop_;
  const ExchangeEnv& env_;
  UpstreamSink& sink_;
  CacheTapOwner& owner_;
  Exchange* ex_ = nullptr;
  std::unique_ptr<Replay> replay_;
  std::unique_ptr<cache::StoredResponse> pending_;  // the response being stored
  std::string pending_body_;
  cache::StoredPtr refreshed_;  // a 304 refreshed the entry: replayed at the response's end
  cache::StoredPtr serve_;      // answered from the store at the next loop turn
  std::string_view serve_label_;
  bool waiting_ = false;
  uint64_t wait_until_ms_ = 0;
  uint64_t generation_ = 0;  // bumped by abandon(): a replay notices it was let go mid-call
  core::Timer timer_;
  std::vector<proto::http1::Header> fields_;
  std::string age_;
  std::string length_;
};

}  // namespace ballast::l7
