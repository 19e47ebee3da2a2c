// tests/unit/discovery/endpoint_slices_test.cpp — EndpointSlice JSON (as the Kubernetes API
// reference shapes it) into a pool's backends: conditions, several slices, port choice, events.
#include "discovery/endpoint_slices.h"

#include <gtest/gtest.h>

#include <string>

namespace ballast::discovery {
namespace {

// One slice of the shape `kubectl get endpointslices -o json` prints.
std::string slice(
    const std::string& name, const std::string& endpoints,
    const std::string& ports = R"([{"name": "http", "port": 8080, "protocol": "TCP"}])",
    const std::string& type = "IPv4") {
  return R"({"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
    "metadata": {"name": ")" +
         name + R"(", "namespace": "shop", "resourceVersion": "11",
      "labels": {"kubernetes.io/service-name": "web"}},
    "addressType": ")" +
         type + R"(", "ports": )" + ports + R"(, "endpoints": )" + endpoints + "}";
}

std::string list(const std::string& items, const std::string& rv = "42") {
  return R"({"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1",
    "metadata": {"resourceVersion": ")" +
         rv + R"("}, "items": [)" + items + "]}";
}

std::vector<std::string> addresses(const SliceBackends& b, uint32_t weight) {
  std::vector<std::string> out;
  for (const auto& x : b.backends) {
    if (x.weight == weight) {
      out.push_back(x.address.toString());
    }
  }
  return out;
}

TEST(EndpointSlicesTest, ReadyServesTerminatingServingDrainsTheRestIsOut) {
  std::string error;
  const auto l = parseSliceList(list(slice("web-a", R"([
        {"addresses": ["10.0.0.1"], "conditions": {"ready": true, "serving": true, "terminating": false}},
        {"addresses": ["10.0.0.2"]},
        {"addresses": ["10.0.0.3"], "conditions": {"ready": false, "serving": true, "terminating": true}},
        {"addresses": ["10.0.0.4"], "conditions": {"ready": false, "serving": false, "terminating": true}},
        {"addresses": ["10.0.0.5"], "conditions": {"ready": false}}
      ])")),
                                &error);
  ASSERT_TRUE(l) << error;
  EXPECT_EQ(l->resource_version, "42");
  const auto b = backendsFromSlices(l->slices, "http", "kubernetes:shop/web");
  EXPECT_EQ(addresses(b, 1), (std::vector<std::string>{"10.0.0.1:8080", "10.0.0.2:8080"}));
  EXPECT_EQ(addresses(b, 0), (std::vector<std::string>{"10.0.0.3:8080"}));
  EXPECT_EQ(b.backends[0].resolved_from, "kubernetes:shop/web");
}

TEST(EndpointSlicesTest, SeveralSlicesMergeAndTheNamedPortIsChosen) {
  const std::string ports =
      R"([{"name": "metrics", "port": 9090}, {"name": "http", "port": 8080}])";
  std::string error;
  const auto l = parseSliceList(
      list(slice("web-a", R"([{"addresses": ["10.0.0.1"]}])", ports) + "," +
           slice("web-b", R"([{"addresses": ["10.0.0.2"]}, {"addresses": ["10.0.0.1"]}])", ports) +
           "," + slice("web-c", R"([{"addresses": ["fd00::7"]}])", ports, "IPv6") + "," +
           slice("web-d", R"([{"addresses": ["db.example"]}])", ports, "FQDN")),
      &error);
  ASSERT_TRUE(l) << error;
  const auto b = backendsFromSlices(l->slices, "http", "k");
  EXPECT_EQ(addresses(b, 1),
            (std::vector<std::string>{"10.0.0.1:8080", "10.0.0.2:8080", "[fd00::7]:8080"}));
  EXPECT_EQ(b.skipped.size(), 1U);  // the FQDN slice
  EXPECT_EQ(addresses(backendsFromSlices(l->slices, "metrics", "k"), 1).front(), "10.0.0.1:9090");
  EXPECT_EQ(addresses(backendsFromSlices(l->slices, "7000", "k"), 1).front(), "10.0.0.1:7000");
  // Two ports and none named: no guess.
  EXPECT_TRUE(backendsFromSlices(l->slices, "", "k").backends.empty());
}

TEST(EndpointSlicesTest, TheOnlyPortServesWhenNoneIsNamed) {
  std::string error;
  const auto l = parseSliceList(list(slice("web-a", R"([{"addresses": ["10.0.0.1"]}])")), &error);
  ASSERT_TRUE(l) << error;
  EXPECT_EQ(addresses(backendsFromSlices(l->slices, "", "k"), 1),
            std::vector<std::string>{"10.0.0.1:8080"});
}

TEST(EndpointSlicesTest, WatchEventsAddModifyDeleteAndBookmarksMoveTheVersion) {
  SliceSet slices;
  std::string error;
  auto added = parseWatchEvent(
      R"({"type": "ADDED", "object": )" + slice("web-a", R"([{"addresses": ["10.0.0.1"]}])") + "}",
      &error);
  ASSERT_TRUE(added) << error;
  EXPECT_EQ(added->type, WatchEventType::kAdded);
  EXPECT_EQ(added->resource_version, "11");
  applyWatchEvent(slices, *added);
  auto modified = parseWatchEvent(
      R"({"type": "MODIFIED", "object": )" +
          slice("web-a", R"([{"addresses": ["10.0.0.1"], "conditions": {"ready": false}}])") + "}",
      &error);
  ASSERT_TRUE(modified) << error;
  applyWatchEvent(slices, *modified);
  EXPECT_TRUE(backendsFromSlices(slices, "http", "k").backends.empty());
  auto bookmark = parseWatchEvent(
      R"({"type": "BOOKMARK", "object": {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
          "metadata": {"resourceVersion": "99"}}})",
      &error);
  ASSERT_TRUE(bookmark) << error;
  EXPECT_EQ(bookmark->type, WatchEventType::kBookmark);
  EXPECT_EQ(bookmark->resource_version, "99");
  auto deleted =
      parseWatchEvent(R"({"type": "DELETED", "object": )" + slice("web-a", "[]") + "}", &error);
  ASSERT_TRUE(deleted) << error;
  applyWatchEvent(slices, *deleted);
  EXPECT_TRUE(slices.empty());
}

TEST(EndpointSlicesTest, AnExpiredWatchIsAnErrorEventWithCode410) {
  std::string error;
  const auto e = parseWatchEvent(
      R"json({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {},
          "status": "Failure", "message": "too old resource version: 1 (42)",
          "reason": "Expired", "code": 410}})json",
      &error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->type, WatchEventType::kError);
  EXPECT_EQ(e->code, 410);
  EXPECT_NE(e->message.find("too old"), std::string::npos);
}

TEST(EndpointSlicesTest, MalformedDocumentsAreErrorsNotThrows) {
  std::string error;
  for (const char* bad :
       {"", "[]", "{", R"({"kind": "PodList", "metadata": {"resourceVersion": "1"}})",
        R"({"kind": "EndpointSliceList", "metadata": {}})",
        R"({"kind": "EndpointSliceList", "metadata": {"resourceVersion": "1"},
                              "items": [{"metadata": {"name": "a"}, "endpoints": [{"addresses": 5}]}]})",
        R"({"kind": "EndpointSliceList", "metadata": {"resourceVersion": "1"},
                              "items": [{"metadata": {"name": "a"}, "endpoints":
                              [{"addresses": [], "conditions": {"ready": "yes"}}]}]})"}) {
    error.clear();
    EXPECT_FALSE(parseSliceList(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  for (const char* bad : {"{}", R"({"type": "ADDED"})", R"({"type": "NOPE", "object": {}})",
                          R"({"type": "ADDED", "object": {"metadata": {}}})"}) {
    error.clear();
    EXPECT_FALSE(parseWatchEvent(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

}  // namespace
}  // namespace ballast::discovery
