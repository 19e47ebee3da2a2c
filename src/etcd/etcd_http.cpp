// src/etcd/etcd_http.cpp — libcurl easy handles for the gateway: http or https only, bounded
// connect time and reply size.
#include "etcd/etcd_http.h"

#include <curl/curl.h>

#include <memory>

namespace ballast::etcd {
namespace {

constexpr long kConnectTimeoutSeconds = 3;
constexpr long kRequestTimeoutSeconds = 10;
// A config is at most a few MB; etcd's own request limit is 1.5 MiB per value.
constexpr size_t kMaxReplyBytes = 64U << 20U;
constexpr size_t kMaxWatchLineBytes = 4U << 20U;
// etcd sends a progress notification only when asked; with none, a quiet prefix is silent for
// hours. A dead peer is found by TCP keepalive instead of a read timeout.
constexpr long kKeepaliveSeconds = 5;

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

size_t onBody(char* data, size_t size, size_t count, void* arg) {
  auto* reply = static_cast<EtcdReply*>(arg);
  const size_t n = size * count;
  if (reply->body.size() + n > kMaxReplyBytes) {
    return 0;  // curl fails the transfer with CURLE_WRITE_ERROR
  }
  reply->body.append(data, n);
  return n;
}

struct WatchState {
  EtcdReply* reply;
  const std::function<bool(std::string_view)>* on_line;
  std::string partial;
};

size_t onWatchBody(char* data, size_t size, size_t count, void* arg) {
  auto* st = static_cast<WatchState*>(arg);
  const size_t n = size * count;
  st->partial.append(data, n);
  size_t start = 0;
  for (size_t nl = st->partial.find('\n'); nl != std::string::npos;
       nl = st->partial.find('\n', start)) {
    const std::string_view line(st->partial.data() + start, nl - start);
    start = nl + 1;
    if (!line.empty() && !(*st->on_line)(line)) {
      return 0;
    }
  }
  st->partial.erase(0, start);
  if (st->partial.size() > kMaxWatchLineBytes) {
    st->reply->error = "watch line over the size limit";
    return 0;
  }
  return n;
}

int onProgress(void* stop, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/,
               curl_off_t /*ulnow*/) {
  return static_cast<const std::atomic<bool>*>(stop)->load(std::memory_order_relaxed) ? 1 : 0;
}

// The options every request shares. headers must outlive the transfer.
void setCommon(CURL* c, const std::string& url, const std::string& body, const EtcdTls& tls,
               const std::atomic<bool>& stop, curl_slist* headers) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "ballast/" BALLAST_VERSION);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &stop);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  if (!tls.ca.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, tls.ca.c_str());
  }
  if (!tls.cert.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, tls.cert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, tls.key.c_str());
  }
}

std::string joinUrl(const std::string& endpoint, std::string_view path) {
  std::string url = endpoint;
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  return url + std::string(path);
}

}  // namespace

EtcdReply EtcdHttp::post(const std::string& endpoint, std::string_view path,
                         const std::string& body) const {
  EtcdReply reply;
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) {
    reply.error = "curl_easy_init failed";
    return reply;
  }
  const std::unique_ptr<curl_slist, SlistFree> headers(
      curl_slist_append(nullptr, "Content-Type: application/json"));
  CURL* c = curl.get();
  const std::string url = joinUrl(endpoint, path);
  setCommon(c, url, body, tls_, stop_, headers.get());
  curl_easy_setopt(c, CURLOPT_TIMEOUT, kRequestTimeoutSeconds);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    reply.error = curl_easy_strerror(rc);
    return reply;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

EtcdReply EtcdHttp::watch(const std::string& endpoint, const std::string& body,
                          const std::function<bool(std::string_view)>& on_line) const {
  EtcdReply reply;
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) {
    reply.error = "curl_easy_init failed";
    return reply;
  }
  const std::unique_ptr<curl_slist, SlistFree> headers(
      curl_slist_append(nullptr, "Content-Type: application/json"));
  CURL* c = curl.get();
  const std::string url = joinUrl(endpoint, "/v3/watch");
  setCommon(c, url, body, tls_, stop_, headers.get());
  WatchState state{&reply, &on_line, {}};
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onWatchBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, kKeepaliveSeconds);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, kKeepaliveSeconds);
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  if (rc != CURLE_OK && reply.error.empty()) {
    reply.error = curl_easy_strerror(rc);
  } else if (rc == CURLE_OK) {
    reply.error = "the watch stream ended";
  }
  return reply;
}

}  // namespace ballast::etcd
