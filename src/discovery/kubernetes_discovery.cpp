// src/discovery/kubernetes_discovery.cpp — the list-then-watch loop of each pool's thread, its
// libcurl transfers (bounded, https only, stoppable) and its backoff.
#include "discovery/kubernetes_discovery.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>

#include "core/clock.h"
#include "core/log.h"

namespace ballast::discovery {
namespace {

constexpr uint64_t kFirstBackoffMs = 1000;
constexpr uint64_t kMaxBackoffMs = 30000;
// A watch that ends cleanly is started again at once, but never more often than this: a server
// that closes every watch at once must not spin the thread.
constexpr uint64_t kMinRewatchMs = 100;
constexpr long kConnectTimeoutSeconds = 10;
constexpr long kListTimeoutSeconds = 30;
// The server ends each watch after this (timeoutSeconds); the client's own limit is a bit later.
constexpr long kWatchTimeoutSeconds = 290;
constexpr long kWatchGraceSeconds = 30;
constexpr size_t kMaxListBytes = 64U << 20U;   // a Service of many thousand endpoints fits
constexpr size_t kMaxEventBytes = 16U << 20U;  // one watch line (one slice of 100 endpoints)
constexpr long kHttpOk = 200;
constexpr long kHttpGone = 410;

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

int onProgress(void* stop, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/,
               curl_off_t /*ulnow*/) {
  return static_cast<const std::atomic<bool>*>(stop)->load(std::memory_order_relaxed) ? 1 : 0;
}

// Percent-encoding is not needed: namespace and service are DNS labels (config checks them).
std::string listPath(const config::PoolDiscovery::Kubernetes& k) {
  return "/apis/discovery.k8s.io/v1/namespaces/" + k.namespace_name +
         "/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D" + k.service;
}

bool sameSet(const std::vector<config::Backend>& a, const std::vector<config::Backend>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.address == y.address && x.weight == y.weight;
  });
}

}  // namespace

struct KubernetesDiscovery::Watch {
  std::string pool;
  config::PoolDiscovery::Kubernetes settings;
  std::string account_dir;
  std::function<void()> on_change;
  std::atomic<bool> stop{false};
  mutable std::mutex mu;
  std::condition_variable wake;
  State state;  // under mu
  std::thread thread;

  // The watch thread's own.
  SliceSet slices;
  std::string rv;
  bool need_list = true;
  uint64_t backoff_ms = 0;

  void run();
  // One transfer. `on_data` gets the body as it arrives (false aborts); returns the HTTP
  // status, or 0 with *error.
  long transfer(const KubeCredentials& creds, const std::string& path, bool streaming,
                const std::function<bool(std::string_view)>& on_data, std::string* error);
  bool list(const KubeCredentials& creds);
  void watchOnce(const KubeCredentials& creds);
  void publish();
  void fail(const std::string& why);
  void pause(uint64_t ms);
  std::string resolvedFrom() const {
    return "kubernetes:" + settings.namespace_name + "/" + settings.service;
  }
};

void KubernetesDiscovery::Watch::pause(uint64_t ms) {
  std::unique_lock lock(mu);
  wake.wait_for(lock, std::chrono::milliseconds(ms),
                [this] { return stop.load(std::memory_order_relaxed); });
}

void KubernetesDiscovery::Watch::fail(const std::string& why) {
  if (stop.load(std::memory_order_relaxed)) {
    return;  // shutting down: the abandoned transfer is no failure
  }
  {
    const std::lock_guard lock(mu);
    ++state.errors;
    state.last_error = why;
  }
  backoff_ms = backoff_ms == 0 ? kFirstBackoffMs : std::min(backoff_ms * 2, kMaxBackoffMs);
  core::LogLine(core::LogLevel::kWarn, "discovery.kubernetes_failed", core::LogRepeat::kLimited)
      .str("pool", pool)
      .str("service", settings.namespace_name + "/" + settings.service)
      .str("reason", why)
      .unum("retry_ms", backoff_ms);
  pause(backoff_ms);
}

// Recomputes the set from the slices; a changed set (or the first list) wakes the control loop.
void KubernetesDiscovery::Watch::publish() {
  auto found = backendsFromSlices(slices, settings.port, resolvedFrom());
  bool changed = false;
  {
    const std::lock_guard lock(mu);
    changed = !state.listed || !sameSet(found.backends, state.backends);
    state.listed = true;
    state.backends = std::move(found.backends);
    state.resource_version = rv;
    state.last_update_unix_ms = core::unixMs();
  }
  if (changed && !found.skipped.empty()) {
    core::LogLine(core::LogLevel::kWarn, "discovery.kubernetes_skipped", core::LogRepeat::kLimited)
        .str("pool", pool)
        .str("first", found.skipped.front())
        .unum("count", found.skipped.size());
  }
  if (changed) {
    on_change();
  }
}

long KubernetesDiscovery::Watch::transfer(const KubeCredentials& creds, const std::string& path,
                                          bool streaming,
                                          const std::function<bool(std::string_view)>& on_data,
                                          std::string* error) {
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) {
    *error = "curl_easy_init failed";
    return 0;
  }
  CURL* c = curl.get();
  const std::string url = creds.server + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(c, CURLOPT_TIMEOUT,
                   streaming ? kWatchTimeoutSeconds + kWatchGraceSeconds : kListTimeoutSeconds);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "ballast/" BALLAST_VERSION);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &stop);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  std::unique_ptr<curl_slist, SlistFree> headers(
      curl_slist_append(nullptr, "Accept: application/json"));
  const std::string auth = "Authorization: Bearer " + creds.token;
  if (!creds.token.empty()) {
    headers.reset(curl_slist_append(headers.release(), auth.c_str()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_blob ca{};
  curl_blob cert{};
  curl_blob key{};
  // libcurl copies blobs (CURL_BLOB_COPY): the PEM text need not outlive the setopt.
  if (!creds.ca_pem.empty()) {
    ca = {const_cast<char*>(creds.ca_pem.data()), creds.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (!creds.client_cert_pem.empty()) {
    cert = {const_cast<char*>(creds.client_cert_pem.data()), creds.client_cert_pem.size(),
            CURL_BLOB_COPY};
    key = {const_cast<char*>(creds.client_key_pem.data()), creds.client_key_pem.size(),
           CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
  }
  struct Sink {
    const std::function<bool(std::string_view)>* on_data;
    long status = 0;
    CURL* curl;
  } sink{&on_data, 0, c};
  // The body goes to on_data only once the status is known to be 200: an error's body (a
  // Status object) is not a list or an event.
  const auto write = +[](char* data, size_t size, size_t count, void* arg) -> size_t {
    auto* s = static_cast<Sink*>(arg);
    if (s->status == 0) {
      curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    }
    const size_t n = size * count;
    if (s->status != kHttpOk) {
      return n;
    }
    return (*s->on_data)(std::string_view(data, n)) ? n : 0;
  };
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) {
    *error = curl_easy_strerror(rc);
    return status == kHttpOk && streaming ? status : 0;
  }
  if (rc == CURLE_WRITE_ERROR && status != kHttpOk) {
    *error = "reply aborted";
    return 0;
  }
  return status;
}

bool KubernetesDiscovery::Watch::list(const KubeCredentials& creds) {
  std::string body;
  std::string error;
  bool too_big = false;
  const long status = transfer(
      creds, listPath(settings), false,
      [&](std::string_view data) {
        if (body.size() + data.size() > kMaxListBytes) {
          too_big = true;
          return false;
        }
        body.append(data);
        return true;
      },
      &error);
  if (too_big) {
    fail("list: reply larger than " + std::to_string(kMaxListBytes) + " bytes");
    return false;
  }
  if (status != kHttpOk) {
    fail("list: " + (status == 0 ? error : "HTTP status " + std::to_string(status)));
    return false;
  }
  auto parsed = parseSliceList(body, &error);
  if (!parsed) {
    fail("list: " + error);
    return false;
  }
  slices = std::move(parsed->slices);
  rv = parsed->resource_version;
  need_list = false;
  backoff_ms = 0;
  {
    const std::lock_guard lock(mu);
    ++state.lists;
    state.last_error.clear();
  }
  core::LogLine(core::LogLevel::kDebug, "discovery.kubernetes_listed")
      .str("pool", pool)
      .str("resource_version", rv)
      .unum("slices", slices.size());
  publish();
  return true;
}

void KubernetesDiscovery::Watch::watchOnce(const KubeCredentials& creds) {
  std::string line;
  std::string stream_error;  // set when the stream itself said something is wrong
  bool gone = false;
  const auto onLine = [&](std::string_view text) {
    std::string why;
    auto event = parseWatchEvent(text, &why);
    if (!event) {
      stream_error = "watch: " + why;
      return false;
    }
    if (event->type == WatchEventType::kError) {
      if (event->code == kHttpGone) {
        gone = true;
      } else {
        stream_error = "watch: ERROR " + std::to_string(event->code) + " " + event->message;
      }
      return false;
    }
    if (!event->resource_version.empty()) {
      rv = event->resource_version;
    }
    if (event->type == WatchEventType::kBookmark) {
      const std::lock_guard lock(mu);
      state.resource_version = rv;
      return true;
    }
    applyWatchEvent(slices, *event);
    {
      const std::lock_guard lock(mu);
      ++state.events;
      state.last_error.clear();
    }
    publish();
    return true;
  };
  const std::string path = listPath(settings) + "&watch=1&allowWatchBookmarks=true" +
                           "&resourceVersion=" + rv +
                           "&timeoutSeconds=" + std::to_string(kWatchTimeoutSeconds);
  std::string error;
  const long status = transfer(
      creds, path, true,
      [&](std::string_view data) {
        backoff_ms = 0;  // the server answered 200: the next failure starts backing off anew
        for (const char ch : data) {
          if (ch != '\n') {
            line.push_back(ch);
            if (line.size() > kMaxEventBytes) {
              stream_error = "watch: an event larger than " + std::to_string(kMaxEventBytes);
              return false;
            }
            continue;
          }
          if (!line.empty() && !onLine(line)) {
            return false;
          }
          line.clear();
        }
        return true;
      },
      &error);
  if (gone || status == kHttpGone) {
    // The resourceVersion is too old for the server: start over from a fresh list.
    const std::lock_guard lock(mu);
    ++state.relists;
    need_list = true;
    core::LogLine(core::LogLevel::kInfo, "discovery.kubernetes_relist")
        .str("pool", pool)
        .str("resource_version", rv);
    return;
  }
  if (!stream_error.empty()) {
    fail(stream_error);
    return;
  }
  if (status != kHttpOk) {
    fail("watch: " + (status == 0 ? error : "HTTP status " + std::to_string(status)));
    return;
  }
  // The server ended the watch (its timeout, a restart): again from the last resourceVersion.
  pause(kMinRewatchMs);
}

void KubernetesDiscovery::Watch::run() {
  bool listed_once = false;
  while (!stop.load(std::memory_order_relaxed)) {
    std::string error;
    // Read before each connect: a service account token rotates, a kubeconfig may be rewritten.
    auto creds = settings.in_cluster ? inClusterCredentials(account_dir, &error)
                                     : readKubeconfig(settings.kubeconfig, &error);
    if (!creds) {
      fail(error);
      continue;
    }
    if (need_list) {
      if (!list(*creds)) {
        continue;
      }
      listed_once = true;
      if (stop.load(std::memory_order_relaxed)) {
        break;
      }
    } else if (listed_once) {
      const std::lock_guard lock(mu);
      ++state.watch_restarts;
    }
    watchOnce(*creds);
  }
}

KubernetesDiscovery::KubernetesDiscovery(std::function<void()> on_change)
    : on_change_(std::move(on_change)) {}

namespace {

void stopWatch(auto& w) {
  {
    const std::lock_guard lock(w.mu);
    w.stop.store(true, std::memory_order_relaxed);
  }
  w.wake.notify_all();
}

bool sameSettings(const config::PoolDiscovery::Kubernetes& a,
                  const config::PoolDiscovery::Kubernetes& b) {
  return a.namespace_name == b.namespace_name && a.service == b.service && a.port == b.port &&
         a.kubeconfig == b.kubeconfig && a.in_cluster == b.in_cluster;
}

}  // namespace

KubernetesDiscovery::~KubernetesDiscovery() {
  for (auto& [pool, w] : watches_) {
    stopWatch(*w);
  }
  for (auto& [pool, w] : watches_) {
    w->thread.join();
  }
}

void KubernetesDiscovery::update(const config::Config& cfg) {
  std::map<std::string, std::unique_ptr<Watch>> next;
  for (const auto& p : cfg.pools) {
    if (!p.discovery.hasKubernetes()) {
      continue;
    }
    auto it = watches_.find(p.name);
    if (it != watches_.end() && sameSettings(it->second->settings, p.discovery.kubernetes)) {
      next.emplace(p.name, std::move(it->second));
      watches_.erase(it);
      continue;
    }
    auto w = std::make_unique<Watch>();
    w->pool = p.name;
    w->settings = p.discovery.kubernetes;
    w->account_dir = account_dir_;
    w->on_change = on_change_;
    Watch* raw = w.get();
    w->thread = std::thread([raw] { raw->run(); });
    next.emplace(p.name, std::move(w));
  }
  // Gone or changed: stop them all first, then wait (each notices within a second).
  for (auto& [pool, w] : watches_) {
    stopWatch(*w);
  }
  for (auto& [pool, w] : watches_) {
    w->thread.join();
  }
  watches_ = std::move(next);
}

std::optional<KubernetesDiscovery::State> KubernetesDiscovery::state(
    const std::string& pool) const {
  const auto it = watches_.find(pool);
  if (it == watches_.end()) {
    return std::nullopt;
  }
  const std::lock_guard lock(it->second->mu);
  return it->second->state;
}

std::map<std::string, KubernetesDiscovery::State> KubernetesDiscovery::states() const {
  std::map<std::string, State> out;
  for (const auto& [pool, w] : watches_) {
    const std::lock_guard lock(w->mu);
    out.emplace(pool, w->state);
  }
  return out;
}

}  // namespace ballast::discovery
