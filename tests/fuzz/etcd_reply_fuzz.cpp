// tests/fuzz/etcd_reply_fuzz.cpp — libFuzzer target for the readers of etcd's v3 JSON gateway
// replies (range, watch stream line, txn) and base64. Beyond "no crash": nothing throws (the
// watch thread would die), and what a reader accepts holds what the watch relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "etcd/etcd_replies.h"

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  namespace etcd = ballast::etcd;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    std::string error;
    if (auto r = etcd::parseRange(body, &error)) {
      check(r->revision > 0 && r->kvs.size() <= size);
    } else {
      check(!error.empty());
    }
    if (auto w = etcd::parseWatchLine(body, &error)) {
      check(w->events <= size);
    }
    if (auto t = etcd::parseTxn(body, &error)) {
      check(t->revision > 0);
    }
    if (auto decoded = etcd::base64Decode(body)) {
      check(etcd::base64Encode(*decoded).size() == size);
    }
    check(etcd::base64Decode(etcd::base64Encode(body)) == std::string(body));
  } catch (...) {
    std::abort();
  }
  return 0;
}
