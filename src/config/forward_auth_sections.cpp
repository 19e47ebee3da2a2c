// src/config/forward_auth_sections.cpp — reading `forward_auth:` and giving an `address:` its
// own pool.
#include "config/forward_auth_sections.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "config/http_fields.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kForwardAuthKeys = {
    "pool"sv,      "address"sv, "path"sv, "copy_request_headers"sv, "copy_response_headers"sv,
    "cache_ttl"sv, "timeout"sv};
constexpr size_t kMaxPathBytes = 1024;
constexpr size_t kMaxCopiedHeaders = 16;  // the h2 answer carries at most 16 extra fields
constexpr auto kMaxCacheTtl = std::chrono::hours(1);
constexpr char kFirstVisible = '!';
constexpr char kLastVisible = '~';

// An origin-form target: "/", then visible ASCII without '#' (a query is allowed).
bool isTargetPath(std::string_view text) {
  return text.starts_with('/') && text.size() <= kMaxPathBytes &&
         std::all_of(text.begin(), text.end(),
                     [](char c) { return c >= kFirstVisible && c <= kLastVisible && c != '#'; });
}

std::string lowerCase(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

void readHeaderList(FileReader& file, const Field& field, std::vector<std::string>& names) {
  for (const Field& item : listItems(file, field, "header name")) {
    auto name = readHeaderName(file, item);
    if (!name) {
      continue;
    }
    if (isProxyManagedHeader(*name)) {
      file.error(item.valueMark(), std::string(field.key) + ": " + quote(*name) +
                                       " frames the message or the connection; Ballast writes "
                                       "it itself");
      continue;
    }
    names.push_back(lowerCase(std::move(*name)));
  }
  if (names.size() > kMaxCopiedHeaders) {
    file.error(field.valueMark(), std::string(field.key) + ": at most 16 header names");
  }
}

}  // namespace

Location readForwardAuth(FileReader& file, const Field& field, ForwardAuth& auth) {
  if (field.value.IsScalar() &&
      (field.value.Scalar() == "off" || field.value.Scalar() == "false")) {
    auth.enabled = false;  // a route open to all under a listener that asks the auth service
    return {};
  }
  const MapReader map(file, field, "forward_auth", kForwardAuthKeys);
  if (!map.ok()) {
    return {};
  }
  auth.enabled = true;
  Location named;
  const Field* pool = map.find("pool");
  const Field* address = map.find("address");
  if ((pool == nullptr) == (address == nullptr)) {
    file.error(map.mark(),
               "forward_auth: give exactly one of pool (a pool's name) or address "
               "(IP:port of the auth service)");
  } else if (pool != nullptr) {
    assign(auth.pool, readName(file, *pool));
    named = file.at(pool->valueMark());
  } else if (const auto a = readAddress(file, *address)) {
    auth.address = *a;
    named = file.at(address->valueMark());
  }
  if (const Field* f = map.find("path")) {
    const auto path = readScalar(file, *f, "a path starting with /");
    if (path && !isTargetPath(*path)) {
      reportExpected(file, *f, "a path starting with / (visible ASCII, no '#', at most 1024 bytes)",
                     quote(*path));
    } else {
      assign(auth.path, path);
    }
  }
  if (const Field* f = map.find("copy_request_headers")) {
    readHeaderList(file, *f, auth.copy_request_headers);
  }
  if (const Field* f = map.find("copy_response_headers")) {
    readHeaderList(file, *f, auth.copy_response_headers);
  }
  if (const Field* f = map.find("cache_ttl")) {
    const auto d = readDuration(file, *f, /*positive=*/false);
    if (d && *d > kMaxCacheTtl) {
      file.error(f->valueMark(), "cache_ttl: at most 1h (a revoked session stays valid that long)");
    } else {
      assign(auth.cache_ttl, d);
    }
  }
  if (const Field* f = map.find("timeout")) {
    assign(auth.timeout, readDuration(file, *f, /*positive=*/true));
  }
  return named;
}

void resolveForwardAuthPools(Config& config, SourceMap& sources) {
  const auto resolve = [&](ForwardAuth& auth, const std::string& pool_name, const Location& at) {
    if (!auth.enabled) {
      return;
    }
    if (auth.pool.empty() && auth.address.family() != AF_UNSPEC) {
      Pool pool;
      pool.name = pool_name;
      Backend backend;
      backend.address = auth.address;
      pool.backends.push_back(std::move(backend));
      config.pools.push_back(std::move(pool));
      PoolSource source;
      source.name = at;
      sources.pools.push_back(std::move(source));
      auth.pool = pool_name;
    }
    auth.pool_index = -1;
    for (size_t p = 0; p < config.pools.size(); ++p) {
      if (config.pools[p].name == auth.pool) {
        auth.pool_index = static_cast<int>(p);
        break;
      }
    }
  };
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    Listener& l = config.listeners[i];
    const ListenerSource* source = i < sources.listeners.size() ? &sources.listeners[i] : nullptr;
    const std::string base = "forward_auth." + l.name;
    resolve(l.http.forward_auth, base, source ? source->forward_auth : Location{});
    for (size_t r = 0; r < l.http.routes.size(); ++r) {
      Route& route = l.http.routes[r];
      if (route.forward_auth) {
        const bool placed = source != nullptr && r < source->routes.size();
        const std::string name = route.name.empty() ? "route" + std::to_string(r + 1) : route.name;
        resolve(*route.forward_auth, base + "." + name,
                placed ? source->routes[r].forward_auth : Location{});
      }
    }
  }
}

}  // namespace ballast::config
