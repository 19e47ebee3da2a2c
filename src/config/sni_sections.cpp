// src/config/sni_sections.cpp — the tls_passthrough listener schema: `sni:` routes and the
// ClientHello timeout. Names are normalized here so the L4 SNI router only compares.
#include "config/sni_sections.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "config/host_names.h"
#include "config/limits.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kSniKeys = {"names"sv, "pool"sv};
constexpr std::string_view kWildcardPrefix = "*.";
constexpr std::string_view kServerNameExpected =
    "a server name such as a.example.test, or *.example.test where '*' stands for exactly one "
    "leftmost label";

// Server name → where it was first listed, to report the second listing.
using SeenNames = std::unordered_map<std::string, Location>;

void readNames(FileReader& file, const Field& field, SniRoute& route, SeenNames& seen) {
  const auto items = listItems(file, field, "server name");
  if (items.empty() && (field.value.IsNull() || field.value.IsSequence())) {
    file.error(field.valueMark(), "names: expected at least one server name");
    return;
  }
  for (const auto& item : items) {
    const auto text = readScalar(file, item, kServerNameExpected);
    if (!text) {
      continue;
    }
    auto name = normalizeServerName(*text);
    if (!name) {
      reportExpected(file, item, kServerNameExpected, quote(*text));
      continue;
    }
    const Location at = file.at(item.valueMark());
    const auto [it, inserted] = seen.emplace(*name, at);
    if (!inserted) {
      const std::string first = it->second.file == at.file
                                    ? "line " + std::to_string(it->second.line)
                                    : it->second.file + ":" + std::to_string(it->second.line);
      file.error(item.valueMark(), "names: " + quote(*name) + " is already routed (at " + first +
                                       "); a server name may go to one pool only");
      continue;
    }
    route.names.push_back(std::move(*name));
  }
}

}  // namespace

std::optional<std::string> normalizeServerName(std::string_view text) {
  if (text.size() > kMaxRouteHostLength) {
    return std::nullopt;
  }
  const bool wildcard = text.starts_with(kWildcardPrefix);
  if (!isDottedName(wildcard ? text.substr(kWildcardPrefix.size()) : text)) {
    return std::nullopt;
  }
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lowerAscii);
  return out;
}

size_t readSni(FileReader& file, const Field& field, std::vector<SniRoute>& routes,
               std::vector<Location>& pool_sources) {
  const auto items = listItems(file, field, "sni entry");
  SeenNames seen;
  size_t names = 0;
  for (const auto& item : items) {
    const MapReader map(file, item, "sni entry", kSniKeys);
    if (!map.ok()) {
      continue;
    }
    SniRoute route;
    Location pool_at;
    if (const Field* f = map.require(file, "names")) {
      readNames(file, *f, route, seen);
    }
    if (const Field* f = map.require(file, "pool")) {
      assign(route.pool, readName(file, *f));
      pool_at = file.at(f->valueMark());
    }
    names += route.names.size();
    if (names > kMaxSniNamesPerListener) {
      file.error(item.key_mark, "sni: at most " + std::to_string(kMaxSniNamesPerListener) +
                                    " server names per listener");
      break;
    }
    routes.push_back(std::move(route));
    pool_sources.push_back(pool_at);
  }
  return items.size();
}

void readTlsTimeouts(FileReader& file, const MapReader& map, ListenerTimeouts& timeouts) {
  if (const Field* f = map.find("client_hello")) {
    assign(timeouts.client_hello, readDuration(file, *f, /*positive=*/true));
  }
}

}  // namespace ballast::config
