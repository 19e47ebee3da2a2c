// src/acme/http_client.cpp — libcurl easy handles for the ACME thread: https only, bounded
// time and size, the directory's CA when configured.
#include "acme/http_client.h"

#include <curl/curl.h>

#include <array>
#include <cctype>
#include <memory>
#include <string_view>

namespace ballast::acme {
namespace {

constexpr long kConnectTimeoutSeconds = 10;
constexpr long kTotalTimeoutSeconds = 30;
constexpr size_t kMaxReplyBytes = 1U << 20U;  // a chain or a JSON object; far below this

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

size_t onBody(char* data, size_t size, size_t count, void* arg) {
  auto* reply = static_cast<HttpReply*>(arg);
  const size_t n = size * count;
  if (reply->body.size() + n > kMaxReplyBytes) {
    return 0;  // curl fails the transfer with CURLE_WRITE_ERROR
  }
  reply->body.append(data, n);
  return n;
}

bool headerIs(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) {
      return false;
    }
  }
  return true;
}

std::string headerValue(std::string_view line, size_t name_len) {
  std::string_view v = line.substr(name_len + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
    v.remove_suffix(1);
  }
  return std::string(v);
}

size_t onHeader(char* data, size_t size, size_t count, void* arg) {
  auto* reply = static_cast<HttpReply*>(arg);
  const std::string_view line(data, size * count);
  struct Wanted {
    std::string_view name;
    std::string HttpReply::*field;
  };
  static constexpr std::array<Wanted, 4> kWanted = {{{"location", &HttpReply::location},
                                                     {"replay-nonce", &HttpReply::nonce},
                                                     {"retry-after", &HttpReply::retry_after},
                                                     {"content-type", &HttpReply::content_type}}};
  for (const auto& w : kWanted) {
    if (headerIs(line, w.name)) {
      reply->*w.field = headerValue(line, w.name.size());
    }
  }
  return line.size();
}

// Shutdown must not wait out a slow directory: a non-zero return aborts the transfer.
int onProgress(void* stop, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/,
               curl_off_t /*ulnow*/) {
  return static_cast<const std::atomic<bool>*>(stop)->load(std::memory_order_relaxed) ? 1 : 0;
}

}  // namespace

void initHttpClientLibrary() { curl_global_init(CURL_GLOBAL_DEFAULT); }

HttpReply HttpClient::send(const char* method, const std::string& url,
                           const std::string& body) const {
  HttpReply reply;
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) {
    reply.error = "curl_easy_init failed";
    return reply;
  }
  CURL* c = curl.get();
  std::unique_ptr<curl_slist, SlistFree> headers;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");  // the directory's URLs only
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, kTotalTimeoutSeconds);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "ballast/" BALLAST_VERSION);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &stop_);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  if (!ca_.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, ca_.c_str());
  }
  if (std::string_view(method) == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (std::string_view(method) == "POST") {
    headers.reset(curl_slist_append(nullptr, "Content-Type: application/jose+json"));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    reply.error = curl_easy_strerror(rc);
    reply.status = 0;
    return reply;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace ballast::acme
