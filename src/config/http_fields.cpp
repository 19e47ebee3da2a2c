// src/config/http_fields.cpp — the character rules for HTTP names and values in the config, and
// the reader for a route's header edits.
#include "config/http_fields.h"

#include <algorithm>
#include <array>
#include <vector>

#include "config/host_names.h"
#include "config/limits.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kHeaderOpsKeys = {"remove"sv, "set"sv, "add"sv};
constexpr std::string_view kTokenSymbols = "!#$%&'*+-.^_`|~";
constexpr std::string_view kHeaderValueExpected =
    "a header value without control characters (CR, LF, NUL)";
constexpr char kFirstVisible = '!';
constexpr char kLastVisible = '~';
constexpr unsigned char kDelete = 0x7f;
// Editing any of these would fight the proxy: it frames each message and manages each
// connection itself, and a second Content-Length or Transfer-Encoding is how requests are
// smuggled. Host names the target; routes match on it.
constexpr std::array kProxyManagedHeaders = {
    "Connection"sv,
    "Keep-Alive"sv,
    "Proxy-Connection"sv,
    "TE"sv,
    "Trailer"sv,
    "Transfer-Encoding"sv,
    "Upgrade"sv,
    "Content-Length"sv,
    "Proxy-Authenticate"sv,
    "Proxy-Authorization"sv,
    "Host"sv,
};

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         kTokenSymbols.find(c) != std::string_view::npos;
}

bool isVisible(char c) { return c >= kFirstVisible && c <= kLastVisible; }

// What the edit does to a header, for messages ("cannot be removed").
std::string_view pastTense(std::string_view op) {
  if (op == "remove") {
    return "removed";
  }
  return op == "set" ? "set" : "added";
}

// A name the edit may touch; else reports why not at `mark`.
bool checkEditable(FileReader& file, const YAML::Mark& mark, std::string_view op,
                   const std::string& name) {
  if (!isProxyManagedHeader(name)) {
    return true;
  }
  file.error(mark, std::string(op) + ": " + quote(name) +
                       " is managed by the proxy (hop-by-hop or framing) and cannot be " +
                       std::string(pastTense(op)));
  return false;
}

// A header named twice in one edit is a mistake whichever case it was written in: names are
// case-insensitive, so the second would silently undo or double the first. Reports at `mark`.
bool checkFirstUse(FileReader& file, const YAML::Mark& mark, std::string_view op,
                   const std::string& name, std::vector<std::pair<std::string, int>>& seen) {
  for (const auto& [earlier, line] : seen) {
    if (equalsIgnoreCase(earlier, name)) {
      file.error(mark, std::string(op) + ": " + quote(name) + " is listed twice (first at line " +
                           std::to_string(line) + ")");
      return false;
    }
  }
  seen.emplace_back(name, file.at(mark).line);
  return true;
}

size_t readRemove(FileReader& file, const Field& field, std::vector<std::string>& names) {
  const auto items = listItems(file, field, "remove");
  std::vector<std::pair<std::string, int>> seen;
  for (const auto& item : items) {
    auto name = readHeaderName(file, item);
    if (!name || !checkEditable(file, item.valueMark(), field.key, *name) ||
        !checkFirstUse(file, item.valueMark(), field.key, *name, seen)) {
      continue;
    }
    names.push_back(std::move(*name));
  }
  return items.size();
}

// `set:` or `add:`, a mapping of header names to values. MapReader does not fit: the keys are
// the user's, not a schema's.
size_t readValues(FileReader& file, const Field& field,
                  std::vector<std::pair<std::string, std::string>>& pairs) {
  const YAML::Node& node = field.value;
  if (node.IsNull()) {
    return 0;  // `set:` alone, like an empty mapping
  }
  if (!node.IsMap()) {
    reportExpected(file, field, "a mapping of header names to values", describe(node));
    return 0;
  }
  size_t count = 0;
  std::vector<std::pair<std::string, int>> seen;
  for (const auto& entry : node) {
    const YAML::Node& key = entry.first;
    if (!file.spend(key.Mark())) {
      break;
    }
    ++count;
    if (!key.IsScalar() || !isToken(key.Scalar())) {
      file.error(key.Mark(), field.key + ": expected " + std::string(kHeaderNameExpected) +
                                 ", got " + describe(key));
      continue;
    }
    const std::string& name = key.Scalar();
    if (!checkEditable(file, key.Mark(), field.key, name) ||
        !checkFirstUse(file, key.Mark(), field.key, name, seen)) {
      continue;
    }
    const Field value_field{name, entry.second, key.Mark()};
    auto value = readScalar(file, value_field, kHeaderValueExpected);
    if (!value) {
      continue;
    }
    if (!isFieldValue(*value)) {
      // A CR or LF here would end the field early and let the value inject its own headers.
      reportExpected(file, value_field, kHeaderValueExpected, quote(*value));
      continue;
    }
    pairs.emplace_back(name, std::move(*value));
  }
  return count;
}

}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lowerAscii(x) == lowerAscii(y);
         });
}

bool isToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), isTokenChar);
}

bool isFieldValue(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return c == '\t' || (u >= ' ' && u != kDelete);
  });
}

bool isQueryName(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return isVisible(c) && c != '&' && c != '=' && c != '#';
  });
}

bool isQueryValue(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return isVisible(c) && c != '&' && c != '#'; });
}

bool isProxyManagedHeader(std::string_view name) {
  return std::any_of(kProxyManagedHeaders.begin(), kProxyManagedHeaders.end(),
                     [&](std::string_view managed) { return equalsIgnoreCase(name, managed); });
}

std::optional<std::string> readHeaderName(FileReader& file, const Field& field) {
  auto text = readScalar(file, field, kHeaderNameExpected);
  if (!text) {
    return std::nullopt;
  }
  if (!isToken(*text)) {
    reportExpected(file, field, kHeaderNameExpected, quote(*text));
    return std::nullopt;
  }
  return text;
}

void readHeaderOps(FileReader& file, const Field& field, HeaderOps& ops) {
  const MapReader map(file, field, field.key, kHeaderOpsKeys);
  if (!map.ok()) {
    return;
  }
  size_t edits = 0;
  if (const Field* f = map.find("remove")) {
    edits += readRemove(file, *f, ops.remove);
  }
  if (const Field* f = map.find("set")) {
    edits += readValues(file, *f, ops.set);
  }
  if (const Field* f = map.find("add")) {
    edits += readValues(file, *f, ops.add);
  }
  if (edits > kMaxHeaderEdits) {
    file.error(field.valueMark(), field.key + ": at most " + std::to_string(kMaxHeaderEdits) +
                                      " header edits (remove, set and add together), got " +
                                      std::to_string(edits));
    ops = HeaderOps{};
  }
}

}  // namespace ballast::config
