// src/config/env_expand.cpp — environment substitution, applied before a scalar is typed.
#include "config/env_expand.h"

#include <cstdlib>

namespace ballast::config {
namespace {

constexpr std::string_view kOpen = "${";
constexpr std::string_view kEscapedOpen = "$${";
constexpr std::string_view kDefaultSeparator = ":-";

bool isNameStart(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }

bool isValidName(std::string_view name) {
  if (name.empty() || !isNameStart(name.front())) {
    return false;
  }
  for (const char c : name) {
    if (!isNameChar(c)) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> processEnv(const std::string& name) {
  // getenv is not thread-safe against setenv; the loader runs before workers start and on
  // reload from a single control thread.
  const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

}  // namespace

ExpandResult expandEnv(std::string_view text, const EnvLookup& lookup) {
  ExpandResult result;
  // Fast path: most scalars have no '$' at all.
  if (text.find('$') == std::string_view::npos) {
    result.text = std::string(text);
    return result;
  }
  size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i).starts_with(kEscapedOpen)) {
      result.text += kOpen;
      i += kEscapedOpen.size();
      continue;
    }
    if (!text.substr(i).starts_with(kOpen)) {
      result.text += text[i];
      ++i;
      continue;
    }
    const size_t body_start = i + kOpen.size();
    const size_t close = text.find('}', body_start);
    if (close == std::string_view::npos) {
      result.error = R"(unterminated "${" (write "$${" for a literal "${"))";
      return result;
    }
    const std::string_view body = text.substr(body_start, close - body_start);
    const size_t sep = body.find(kDefaultSeparator);
    const std::string_view name = body.substr(0, sep);
    if (!isValidName(name)) {
      result.error = "invalid environment variable name \"" + std::string(name) + "\"";
      return result;
    }
    const std::string name_text(name);
    const auto value = lookup ? lookup(name_text) : processEnv(name_text);
    if (sep != std::string_view::npos) {
      if (value && !value->empty()) {
        result.text += *value;
      } else {
        result.text += body.substr(sep + kDefaultSeparator.size());
      }
    } else if (value) {
      result.text += *value;
    } else {
      result.error = "environment variable \"" + name_text + "\" is not set and has no default";
      return result;
    }
    i = close + 1;
  }
  return result;
}

}  // namespace ballast::config
