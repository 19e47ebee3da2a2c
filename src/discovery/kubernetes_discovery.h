// src/discovery/kubernetes_discovery.h — keeps the backends of `discovery: {kubernetes}` pools
// in step with their Service's EndpointSlices. One thread per pool (libcurl blocks, and a watch
// is a long-lived stream; the control loop must never wait on the API server): LIST the slices,
// then WATCH from the list's resourceVersion with bookmarks; a 410 Gone (status or ERROR event)
// re-lists, a dropped watch re-watches from the last resourceVersion, and failures back off
// (1 s doubling to 30 s) while the last good set keeps serving. Each changed backend set calls
// `on_change` from the watch thread; the control thread then reads backends() and applies them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config_types.h"
#include "discovery/endpoint_slices.h"
#include "discovery/kubeconfig.h"

namespace ballast::discovery {

class KubernetesDiscovery {
 public:
  // `on_change` runs on a watch thread: it must only wake the control loop.
  explicit KubernetesDiscovery(std::function<void()> on_change);
  ~KubernetesDiscovery();  // stops every watch, abandoning transfers in progress
  KubernetesDiscovery(const KubernetesDiscovery&) = delete;
  KubernetesDiscovery& operator=(const KubernetesDiscovery&) = delete;

  // Control thread: watches what `cfg`'s pools name from now on. A pool whose settings did not
  // change keeps its watch and its set; others start over with a list.
  void update(const config::Config& cfg);

  struct State {
    bool listed = false;  // a list has answered: `backends` is the Service's set
    std::vector<config::Backend> backends;
    std::string resource_version;
    uint64_t lists = 0;           // LISTs that answered
    uint64_t watch_restarts = 0;  // watches started again from the last resourceVersion
    uint64_t relists = 0;         // after 410 Gone: the resourceVersion had expired
    uint64_t errors = 0;          // failed requests, unreadable replies, ERROR events
    uint64_t events = 0;          // watch events applied
    uint64_t last_update_unix_ms = 0;
    std::string last_error;  // of the last failure; cleared by the next good list or event
  };
  // A copy of `pool`'s state; nullopt when the pool has no kubernetes discovery.
  std::optional<State> state(const std::string& pool) const;
  std::map<std::string, State> states() const;

  // Where in-cluster credentials are read (tests point it elsewhere).
  void setServiceAccountDir(std::string dir) { account_dir_ = std::move(dir); }

 private:
  struct Watch;
  std::function<void()> on_change_;
  std::string account_dir_ = kServiceAccountDir;
  std::map<std::string, std::unique_ptr<Watch>> watches_;  // by pool
};

}  // namespace ballast::discovery
