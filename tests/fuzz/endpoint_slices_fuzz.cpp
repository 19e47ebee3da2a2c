// tests/fuzz/endpoint_slices_fuzz.cpp — libFuzzer target for the Kubernetes EndpointSlice
// readers: a LIST body and a watch stream line, then the merge into backends. Beyond "no crash":
// nothing throws (the watch thread would die), and the merged set holds one entry per address,
// each at weight 0 (draining) or 1.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "discovery/endpoint_slices.h"

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

void checkBackends(const ballast::discovery::SliceSet& slices) {
  for (const char* port : {"", "http", "8080"}) {
    const auto b = ballast::discovery::backendsFromSlices(slices, port, "fuzz");
    std::set<std::string> seen;
    for (const auto& x : b.backends) {
      check(x.weight <= 1);
      check(seen.insert(x.address.toString()).second);
    }
  }
}

}  // namespace

// libFuzzer fixes the name.
extern "C" int LLVMFuzzerTestOneInput(  // NOLINT(readability-identifier-naming)
    const uint8_t* data, size_t size) {
  namespace discovery = ballast::discovery;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    std::string error;
    if (auto list = discovery::parseSliceList(body, &error)) {
      check(!list->resource_version.empty());
      checkBackends(list->slices);
    }
    discovery::SliceSet slices;
    if (auto event = discovery::parseWatchEvent(body, &error)) {
      discovery::applyWatchEvent(slices, *event);
      checkBackends(slices);
    }
  } catch (...) {
    std::abort();
  }
  return 0;
}
