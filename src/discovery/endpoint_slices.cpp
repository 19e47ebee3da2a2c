// src/discovery/endpoint_slices.cpp — EndpointSlice JSON readers and the merge into backends.
#include "discovery/endpoint_slices.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace ballast::discovery {
namespace {

using nlohmann::json;

constexpr int64_t kMaxPort = 65535;
// Bounds a hostile reply: far above what one Service's slices hold (100 endpoints per slice).
constexpr size_t kMaxEndpointsPerSlice = 10000;
constexpr size_t kMaxTypeShown = 64;  // of hostile text quoted back in an error

const json* member(const json& object, const char* key) {
  if (!object.is_object()) {
    return nullptr;
  }
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string stringAt(const json& object, const char* key) {
  const json* v = member(object, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// A condition: absent (nil) takes `absent`; a non-boolean is an error.
bool condition(const json& conditions, const char* key, bool absent, bool* ok) {
  const json* v = member(conditions, key);
  if (v == nullptr) {
    return absent;
  }
  if (!v->is_boolean()) {
    *ok = false;
    return absent;
  }
  return v->get<bool>();
}

std::optional<EndpointSlice> readSlice(const json& object, std::string* error) {
  if (!object.is_object()) {
    *error = "an EndpointSlice is not an object";
    return std::nullopt;
  }
  EndpointSlice slice;
  const json* metadata = member(object, "metadata");
  slice.name = metadata != nullptr ? stringAt(*metadata, "name") : "";
  if (slice.name.empty()) {
    *error = "an EndpointSlice has no metadata.name";
    return std::nullopt;
  }
  slice.address_type = stringAt(object, "addressType");
  if (const json* ports = member(object, "ports")) {
    if (!ports->is_array()) {
      *error = "slice " + slice.name + ": ports is not a list";
      return std::nullopt;
    }
    for (const auto& p : *ports) {
      const json* number = member(p, "port");
      if (number == nullptr || !number->is_number_integer() || number->get<int64_t>() < 1 ||
          number->get<int64_t>() > kMaxPort) {
        continue;  // a port without a number (allowed by the API) names no backend
      }
      slice.ports.push_back({stringAt(p, "name"), static_cast<uint16_t>(number->get<int64_t>())});
    }
  }
  if (const json* endpoints = member(object, "endpoints")) {
    if (!endpoints->is_array() || endpoints->size() > kMaxEndpointsPerSlice) {
      *error = "slice " + slice.name + ": endpoints is not a list of bounded size";
      return std::nullopt;
    }
    for (const auto& e : *endpoints) {
      SliceEndpoint out;
      const json* addresses = member(e, "addresses");
      if (addresses == nullptr || !addresses->is_array()) {
        *error = "slice " + slice.name + ": an endpoint has no addresses list";
        return std::nullopt;
      }
      for (const auto& a : *addresses) {
        if (a.is_string()) {
          out.addresses.push_back(a.get<std::string>());
        }
      }
      bool ok = true;
      if (const json* c = member(e, "conditions")) {
        out.ready = condition(*c, "ready", true, &ok);
        out.serving = condition(*c, "serving", out.ready, &ok);
        out.terminating = condition(*c, "terminating", false, &ok);
      }
      if (!ok) {
        *error = "slice " + slice.name + ": a condition is not a boolean";
        return std::nullopt;
      }
      slice.endpoints.push_back(std::move(out));
    }
  }
  return slice;
}

std::optional<json> parseObject(std::string_view text, std::string* error) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    *error = "not a JSON object";
    return std::nullopt;
  }
  return doc;
}

// The port a slice's endpoints serve on for the configured `port`; 0 when none fits.
uint16_t choosePort(const EndpointSlice& slice, const std::string& port) {
  if (port.empty()) {
    return slice.ports.size() == 1 ? slice.ports.front().port : 0;
  }
  uint32_t number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (ec == std::errc() && end == port.data() + port.size()) {
    return number >= 1 && number <= kMaxPort ? static_cast<uint16_t>(number) : 0;
  }
  const auto it = std::find_if(slice.ports.begin(), slice.ports.end(),
                               [&port](const SlicePort& p) { return p.name == port; });
  return it == slice.ports.end() ? 0 : it->port;
}

std::optional<net::SocketAddress> addressOf(const std::string& ip, uint16_t port, bool v6) {
  if (ip.empty() || ip.find_first_of("[]/ ") != std::string::npos) {
    return std::nullopt;
  }
  const std::string text =
      v6 ? "[" + ip + "]:" + std::to_string(port) : ip + ":" + std::to_string(port);
  return net::SocketAddress::parse(text);
}

}  // namespace

std::optional<SliceList> parseSliceList(std::string_view body, std::string* error) {
  auto doc = parseObject(body, error);
  if (!doc) {
    return std::nullopt;
  }
  if (stringAt(*doc, "kind") != "EndpointSliceList") {
    *error = "not an EndpointSliceList (kind " + stringAt(*doc, "kind") + ")";
    return std::nullopt;
  }
  SliceList out;
  const json* metadata = member(*doc, "metadata");
  out.resource_version = metadata != nullptr ? stringAt(*metadata, "resourceVersion") : "";
  if (out.resource_version.empty()) {
    *error = "the list has no metadata.resourceVersion";
    return std::nullopt;
  }
  const json* items = member(*doc, "items");
  if (items != nullptr && !items->is_array()) {
    *error = "items is not a list";
    return std::nullopt;
  }
  if (items != nullptr) {
    for (const auto& item : *items) {
      auto slice = readSlice(item, error);
      if (!slice) {
        return std::nullopt;
      }
      out.slices[slice->name] = std::move(*slice);
    }
  }
  return out;
}

std::optional<WatchEvent> parseWatchEvent(std::string_view line, std::string* error) {
  auto doc = parseObject(line, error);
  if (!doc) {
    return std::nullopt;
  }
  const std::string type = stringAt(*doc, "type");
  const json* object = member(*doc, "object");
  if (object == nullptr || !object->is_object()) {
    *error = "a watch event without an object";
    return std::nullopt;
  }
  WatchEvent event;
  const json* metadata = member(*object, "metadata");
  event.resource_version = metadata != nullptr ? stringAt(*metadata, "resourceVersion") : "";
  if (type == "ERROR") {
    event.type = WatchEventType::kError;
    const json* code = member(*object, "code");
    event.code = code != nullptr && code->is_number_integer() ? code->get<int64_t>() : 0;
    event.message = stringAt(*object, "message");
    return event;
  }
  if (type == "BOOKMARK") {
    event.type = WatchEventType::kBookmark;
    if (event.resource_version.empty()) {
      *error = "a bookmark without metadata.resourceVersion";
      return std::nullopt;
    }
    return event;
  }
  if (type == "ADDED") {
    event.type = WatchEventType::kAdded;
  } else if (type == "MODIFIED") {
    event.type = WatchEventType::kModified;
  } else if (type == "DELETED") {
    event.type = WatchEventType::kDeleted;
  } else {
    *error = "unknown watch event type \"" + type.substr(0, kMaxTypeShown) + "\"";
    return std::nullopt;
  }
  auto slice = readSlice(*object, error);
  if (!slice) {
    return std::nullopt;
  }
  event.slice = std::move(*slice);
  return event;
}

void applyWatchEvent(SliceSet& slices, const WatchEvent& event) {
  switch (event.type) {
    case WatchEventType::kAdded:
    case WatchEventType::kModified:
      slices[event.slice.name] = event.slice;
      break;
    case WatchEventType::kDeleted:
      slices.erase(event.slice.name);
      break;
    case WatchEventType::kBookmark:
    case WatchEventType::kError:
      break;
  }
}

SliceBackends backendsFromSlices(const SliceSet& slices, const std::string& port,
                                 const std::string& resolved_from) {
  SliceBackends out;
  // By address text: a ready entry wins over a draining one for the same address.
  std::map<std::string, config::Backend> found;
  for (const auto& [name, slice] : slices) {
    const bool v6 = slice.address_type == "IPv6";
    if (!v6 && slice.address_type != "IPv4") {
      out.skipped.push_back(name + ": addressType " + slice.address_type + " is not used");
      continue;
    }
    const uint16_t number = choosePort(slice, port);
    if (number == 0) {
      if (!slice.endpoints.empty()) {
        out.skipped.push_back(name + ": no port " +
                              (port.empty() ? "(several, none chosen)" : port));
      }
      continue;
    }
    for (const auto& e : slice.endpoints) {
      uint32_t weight = 0;
      if (e.ready) {
        weight = 1;
      } else if (!(e.serving && e.terminating)) {
        continue;  // neither ready nor finishing its requests: out
      }
      for (const auto& ip : e.addresses) {
        auto address = addressOf(ip, number, v6);
        if (!address) {
          out.skipped.push_back(name + ": address " + ip.substr(0, kMaxTypeShown) + " unusable");
          continue;
        }
        config::Backend b;
        b.address = *address;
        b.weight = weight;
        b.resolved_from = resolved_from;
        auto [it, inserted] = found.emplace(address->toString(), b);
        if (!inserted && weight > it->second.weight) {
          it->second = b;
        }
      }
    }
  }
  for (auto& [text, b] : found) {
    out.backends.push_back(std::move(b));
  }
  return out;
}

}  // namespace ballast::discovery
