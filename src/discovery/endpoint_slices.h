// src/discovery/endpoint_slices.h — Kubernetes discovery.k8s.io/v1 EndpointSlices as JSON
// (a list, or one watch event per line) read into slices, and a Service's slices merged into
// a pool's backend set. Pure functions: the watcher thread feeds them, tests and the fuzzer too.
// Every reader takes hostile input: a malformed document is an error string, never a throw.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_types.h"

namespace ballast::discovery {

struct SliceEndpoint {
  std::vector<std::string> addresses;
  // Conditions, absent ones read as the API says: ready nil = true, terminating nil = false;
  // serving nil takes ready's value (older servers do not send it).
  bool ready = true;
  bool serving = true;
  bool terminating = false;
};

struct SlicePort {
  std::string name;  // "" for an unnamed port
  uint16_t port = 0;
};

struct EndpointSlice {
  std::string name;          // metadata.name: slices are merged by it
  std::string address_type;  // IPv4, IPv6 or FQDN (FQDN endpoints are not used)
  std::vector<SlicePort> ports;
  std::vector<SliceEndpoint> endpoints;
};

using SliceSet = std::map<std::string, EndpointSlice>;  // by name

struct SliceList {
  std::string resource_version;  // metadata.resourceVersion: where a watch starts
  SliceSet slices;
};

// An EndpointSliceList body; nullopt and *error when it is not one.
std::optional<SliceList> parseSliceList(std::string_view body, std::string* error);

enum class WatchEventType : uint8_t { kAdded, kModified, kDeleted, kBookmark, kError };

struct WatchEvent {
  WatchEventType type = WatchEventType::kBookmark;
  std::string resource_version;  // of the object (a bookmark carries only this)
  EndpointSlice slice;           // ADDED, MODIFIED, DELETED
  int64_t code = 0;              // ERROR: the Status object's code (410: expired)
  std::string message;           // ERROR: its message
};

// One line of a watch stream; nullopt and *error when it is not an event.
std::optional<WatchEvent> parseWatchEvent(std::string_view line, std::string* error);

// Applies an ADDED, MODIFIED or DELETED event to `slices`; others change nothing.
void applyWatchEvent(SliceSet& slices, const WatchEvent& event);

struct SliceBackends {
  // Ready endpoints at weight 1; serving but terminating ones at weight 0 (drained: known, open
  // connections finish, no new ones). Sorted by address, one entry per address.
  std::vector<config::Backend> backends;
  std::vector<std::string> skipped;  // why some slice was not used (no such port, FQDN)
};

// The pool's backends from all of a Service's slices. `port`: a slice port's name, or a number
// (used as is), or "" for the slice's only port. `resolved_from` tags each backend.
SliceBackends backendsFromSlices(const SliceSet& slices, const std::string& port,
                                 const std::string& resolved_from);

}  // namespace ballast::discovery
