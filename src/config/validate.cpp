// src/config/validate.cpp — cross-entry checks; each error points at the later of two
// clashing entries and names where the first one is.
#include "config/validate.h"

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>

namespace ballast::config {
namespace {

// "line 3" within the same file, "conf.d/a.yaml:3" across files.
std::string where(const Location& first, const Location& second) {
  if (first.file == second.file) {
    return "line " + std::to_string(first.line);
  }
  return first.file + ":" + std::to_string(first.line);
}

// HTTP runs over TCP: an http and a tcp listener on one address would share a port.
bool isUdp(Protocol p) { return p == Protocol::kUdp; }
std::string_view transportName(Protocol p) { return isUdp(p) ? "udp" : "tcp"; }

void checkUniqueNames(const Config& config, const SourceMap& sources, Diagnostics& diagnostics) {
  std::unordered_map<std::string, size_t> listeners;
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const std::string& name = config.listeners[i].name;
    if (name.empty()) {
      continue;
    }
    const auto [it, inserted] = listeners.emplace(name, i);
    if (!inserted) {
      const Location& first = sources.listeners[it->second].name;
      const Location& second = sources.listeners[i].name;
      diagnostics.add(second, "duplicate listener name \"" + name + "\" (first defined at " +
                                  where(first, second) + ")");
    }
  }
  std::unordered_map<std::string, size_t> pools;
  for (size_t i = 0; i < config.pools.size(); ++i) {
    const std::string& name = config.pools[i].name;
    if (name.empty()) {
      continue;
    }
    const auto [it, inserted] = pools.emplace(name, i);
    if (!inserted) {
      const Location& first = sources.pools[it->second].name;
      const Location& second = sources.pools[i].name;
      diagnostics.add(second, "duplicate pool name \"" + name + "\" (first defined at " +
                                  where(first, second) + ")");
    }
  }
}

// Two sockets cannot bind the same address and transport; the second would fail at startup
// with EADDRINUSE, which is better said here with both positions. (With SO_REUSEPORT on both
// it might even succeed, and the kernel would split connections between two listeners.)
void checkBindConflicts(const Config& config, const SourceMap& sources, Diagnostics& diagnostics) {
  std::map<std::tuple<std::string, bool>, size_t> seen;
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const Listener& l = config.listeners[i];
    if (l.bind.family() == AF_UNSPEC) {
      continue;  // the bad address was already reported
    }
    const auto [it, inserted] = seen.emplace(std::tuple(l.bind.toString(), isUdp(l.protocol)), i);
    if (!inserted) {
      const Listener& first = config.listeners[it->second];
      const Location& first_at = sources.listeners[it->second].bind;
      const Location& second_at = sources.listeners[i].bind;
      const std::string first_label =
          first.name.empty()
              ? "the listener at " + where(first_at, second_at)
              : "listener \"" + first.name + "\" (" + where(first_at, second_at) + ")";
      diagnostics.add(second_at, "bind: " + l.bind.toString() + "/" +
                                     std::string(transportName(l.protocol)) +
                                     " is already bound by " + first_label);
    }
  }
}

void checkPoolReferences(const Config& config, const SourceMap& sources, Diagnostics& diagnostics) {
  std::string defined;
  std::set<std::string_view> listed;
  for (const auto& p : config.pools) {
    if (!p.name.empty() && listed.insert(p.name).second) {
      defined += (defined.empty() ? "" : ", ") + p.name;
    }
  }
  const std::string known = defined.empty() ? "no pools are defined" : "defined pools: " + defined;
  const auto unknown = [&](const std::string& pool) {
    return !pool.empty() && config.findPool(pool) == nullptr;
  };
  for (size_t i = 0; i < config.listeners.size(); ++i) {
    const Listener& l = config.listeners[i];
    if (unknown(l.pool)) {
      diagnostics.add(
          sources.listeners[i].pool,
          "pool: listener \"" + l.name + "\" names unknown pool \"" + l.pool + "\"; " + known);
    }
    for (size_t r = 0; r < l.sni.size() && r < sources.listeners[i].sni_pools.size(); ++r) {
      if (unknown(l.sni[r].pool)) {
        diagnostics.add(sources.listeners[i].sni_pools[r],
                        "pool: sni entry " + std::to_string(r + 1) + " of listener \"" + l.name +
                            "\" names unknown pool \"" + l.sni[r].pool + "\"; " + known);
      }
    }
    const auto& routes = l.http.routes;
    for (size_t r = 0; r < routes.size(); ++r) {
      if (unknown(routes[r].pool)) {
        diagnostics.add(sources.listeners[i].routes[r].pool,
                        "pool: route \"" + routes[r].name + "\" of listener \"" + l.name +
                            "\" names unknown pool \"" + routes[r].pool + "\"; " + known);
      }
    }
    // forward_auth's subrequests go out over HTTP/1.1 (h1_upstream), cleartext or TLS.
    const auto check_auth = [&](const ForwardAuth& auth, const Location& at) {
      if (!auth.enabled || auth.pool.empty()) {
        return;
      }
      const Pool* pool = config.findPool(auth.pool);
      if (pool == nullptr) {
        diagnostics.add(at, "forward_auth: listener \"" + l.name + "\" names unknown pool \"" +
                                auth.pool + "\"; " + known);
      } else if (pool->upstream_protocol != UpstreamProtocol::kHttp1) {
        diagnostics.add(at, "forward_auth: pool \"" + auth.pool +
                                "\" must speak HTTP/1.1 (upstream_protocol: http1)");
      }
    };
    check_auth(l.http.forward_auth, sources.listeners[i].forward_auth);
    for (size_t r = 0; r < routes.size() && r < sources.listeners[i].routes.size(); ++r) {
      if (routes[r].forward_auth) {
        check_auth(*routes[r].forward_auth, sources.listeners[i].routes[r].forward_auth);
      }
    }
  }
}

// Where listener i names `pool` (its default or an sni entry); nullptr when it does not.
const Location* poolUse(const Config& config, const SourceMap& sources, size_t i,
                        const std::string& pool) {
  const Listener& l = config.listeners[i];
  if (l.pool == pool) {
    return &sources.listeners[i].pool;
  }
  for (size_t r = 0; r < l.sni.size() && r < sources.listeners[i].sni_pools.size(); ++r) {
    if (l.sni[r].pool == pool) {
      return &sources.listeners[i].sni_pools[r];
    }
  }
  return nullptr;
}

bool isHttpHashKey(HashKey key) {
  return key == HashKey::kHeader || key == HashKey::kCookie || key == HashKey::kPath ||
         key == HashKey::kQuery;
}

// The hash key as written: "header:X-User", "path".
std::string hashKeyText(const Pool& pool) {
  switch (pool.hash_key) {
    case HashKey::kHeader:
      return "header:" + pool.hash_key_name;
    case HashKey::kCookie:
      return "cookie:" + pool.hash_key_name;
    case HashKey::kQuery:
      return "query:" + pool.hash_key_name;
    case HashKey::kPath:
      return "path";
    case HashKey::kSourceIp:
    case HashKey::kSourceIpPort:
      break;
  }
  return "source address";
}

// A tcp or udp listener has no headers, cookies, paths or queries to hash on and no responses to
// set a cookie on, so a pool that it uses may have neither. Reported once per setting, naming
// the first such listener.
void checkHttpOnlyPoolSettings(const Config& config, const SourceMap& sources,
                               Diagnostics& diagnostics) {
  for (size_t p = 0; p < config.pools.size(); ++p) {
    const Pool& pool = config.pools[p];
    const bool http_key = isHttpHashKey(pool.hash_key);
    const bool sticky = !pool.sticky_cookie.empty();
    const bool tls = pool.tls.enabled;
    const bool retries = pool.retries.enabled;
    if (pool.name.empty() || (!http_key && !sticky && !tls && !retries)) {
      continue;
    }
    for (size_t i = 0; i < config.listeners.size(); ++i) {
      const Listener& l = config.listeners[i];
      const Location* use = poolUse(config, sources, i, pool.name);
      if (isHttp(l.protocol) || !sources.listeners[i].protocol_known || use == nullptr) {
        continue;
      }
      const Location& used_at = *use;
      const std::string user = "pool \"" + pool.name + "\" is used by " +
                               std::string(transportName(l.protocol)) + " listener \"" + l.name +
                               "\"";
      if (http_key) {
        const Location& at = sources.pools[p].hash_key;
        diagnostics.add(at, "hash_key: " + hashKeyText(pool) + " needs HTTP requests, but " + user +
                                " (" + where(used_at, at) + ")");
      }
      if (sticky) {
        const Location& at = sources.pools[p].sticky;
        diagnostics.add(at, "sticky: needs HTTP responses to set its cookie, but " + user + " (" +
                                where(used_at, at) + ")");
      }
      if (tls) {
        // TCP listeners pass bytes through; TLS to backends is originated by the HTTP proxy.
        const Location& at = sources.pools[p].tls;
        diagnostics.add(at, "tls: TLS to backends is for HTTP listeners, but " + user + " (" +
                                where(used_at, at) + ")");
      }
      if (retries) {
        // L4 retries are connect_retries: a byte stream once sent cannot be sent again.
        const Location& at = sources.pools[p].retries;
        diagnostics.add(
            at, "retries: resends HTTP requests (a tcp pool has connect_retries), but " + user +
                    " (" + where(used_at, at) + ")");
      }
      break;
    }
  }
}

}  // namespace

// jwt reading `Authorization: Bearer` and basic_auth both applying to a request: it must pass
// both, and one Authorization field cannot carry both schemes, so no request ever would.
void checkAuthConflicts(const Config& config, const SourceMap& sources, Diagnostics& diagnostics) {
  for (size_t i = 0; i < config.listeners.size() && i < sources.listeners.size(); ++i) {
    const Listener& l = config.listeners[i];
    const auto clash = [](const JwtAuth& jwt, const BasicAuth& basic) {
      return jwt.enabled && jwt.from == JwtSource::kBearer && basic.enabled;
    };
    std::string scope;
    if (clash(l.http.jwt, l.http.basic_auth)) {
      scope = "its requests";
    }
    for (const auto& r : l.http.routes) {
      if (scope.empty() &&
          clash(r.jwt ? *r.jwt : l.http.jwt, r.basic_auth ? *r.basic_auth : l.http.basic_auth)) {
        scope = "route \"" + r.name + "\"";
      }
    }
    if (!scope.empty()) {
      diagnostics.add(sources.listeners[i].name,
                      "listener \"" + l.name + "\": jwt (Authorization: Bearer) and basic_auth " +
                          "both apply to " + scope +
                          ", which one Authorization field cannot pass; read the token from " +
                          "jwt.from: header:NAME or cookie:NAME, or turn one off there");
    }
  }
}

void validateConfig(const Config& config, const SourceMap& sources, bool complete,
                    Diagnostics& diagnostics) {
  checkUniqueNames(config, sources, diagnostics);
  checkBindConflicts(config, sources, diagnostics);
  checkHttpOnlyPoolSettings(config, sources, diagnostics);
  checkAuthConflicts(config, sources, diagnostics);
  if (complete) {
    checkPoolReferences(config, sources, diagnostics);
  }
}

}  // namespace ballast::config
