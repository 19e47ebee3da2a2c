// src/config/content_sections.cpp — reading redirect, rewrite, respond, error_pages and cors.
#include "config/content_sections.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "config/file_text.h"
#include "config/http_fields.h"
#include "config/route_regex.h"
#include "policy/url_template.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kRedirectKeys = {"status"sv, "to"sv, "regex"sv};
constexpr std::array kRewriteKeys = {"prefix"sv, "regex"sv, "replace"sv, "host"sv};
constexpr std::array kRespondKeys = {"status"sv, "body"sv, "file"sv, "content_type"sv, "headers"sv};
constexpr std::array kErrorPageKeys = {"pages"sv, "content_type"sv, "backend_errors"sv};
constexpr std::array kCorsKeys = {"origins"sv,        "origin_regex"sv, "methods"sv, "headers"sv,
                                  "expose_headers"sv, "credentials"sv,  "max_age"sv};
constexpr std::array kCompressKeys = {"algorithms"sv, "types"sv, "min_size"sv, "level"sv};
constexpr std::string_view kMediaRangeExpected = "a media type such as text/html or text/*";
constexpr std::array kCacheKeys = {"max_size"sv, "max_object_size"sv,  "key"sv,
                                   "coalesce"sv, "coalesce_timeout"sv, "heuristic_freshness"sv};
constexpr uint64_t kMinCacheSize = uint64_t{1} << 16;
constexpr uint64_t kMaxCacheSize = uint64_t{1} << 40;
constexpr uint64_t kMaxMinSize = uint64_t{1} << 30;
constexpr std::array<uint16_t, 5> kRedirectStatuses = {301, 302, 303, 307, 308};
constexpr uint64_t kMinStatus = 200;
constexpr uint64_t kMaxStatus = 599;
constexpr uint64_t kMinErrorStatus = 400;
// Bodies the edge holds in memory per configuration: maintenance pages, not downloads.
constexpr size_t kMaxBodyBytes = size_t{1024} * 1024;
constexpr uint64_t kMaxCorsAgeSeconds = 86400;
constexpr size_t kMaxRespondHeaders = 8;
constexpr std::string_view kTokenListExpected = "a list of header names";

// Compiles `field`'s regex; reports RE2's own message. Null on error.
std::shared_ptr<const re2::RE2> compileRegex(FileReader& file, const Field& field,
                                             std::string& text) {
  const auto value = readScalar(file, field, "an RE2 regex");
  if (!value) {
    return nullptr;
  }
  auto re = std::make_shared<const re2::RE2>(*value, routeRegexOptions());
  if (!re->ok()) {
    file.error(field.valueMark(), field.key + ": " + re->error());
    return nullptr;
  }
  text = *value;
  return re;
}

std::optional<std::string> readTemplate(FileReader& file, const Field& field, int captures) {
  auto text = readScalar(file, field, "a template");
  if (!text) {
    return std::nullopt;
  }
  if (text->empty()) {
    file.error(field.valueMark(), field.key + ": expected a template, got an empty string");
    return std::nullopt;
  }
  if (const auto why = policy::checkTemplate(*text, captures)) {
    file.error(field.valueMark(), field.key + ": " + *why);
    return std::nullopt;
  }
  return text;
}

// A page or body file, read now (and on every reload: the file watcher re-reads it).
std::optional<std::string> readBodyFile(FileReader& file, const Field& field, std::string& path) {
  const auto value = readFilePath(file, field, false);
  if (!value) {
    return std::nullopt;
  }
  std::string text;
  if (const auto why = readWholeFile(*value, text)) {
    file.error(field.valueMark(), field.key + ": cannot read " + *value + ": " + *why);
    return std::nullopt;
  }
  if (text.size() > kMaxBodyBytes) {
    file.error(field.valueMark(), field.key + ": " + *value + " is larger than 1MiB");
    return std::nullopt;
  }
  path = *value;
  return text;
}

std::optional<std::string> readContentType(FileReader& file, const Field& field) {
  auto text = readScalar(file, field, "a media type such as text/html");
  if (text && (text->empty() || !isFieldValue(*text))) {
    reportExpected(file, field, "a media type such as text/html", quote(*text));
    return std::nullopt;
  }
  return text;
}

void readTokenList(FileReader& file, const Field& field, std::vector<std::string>& out,
                   bool methods) {
  for (const auto& item : listItems(file, field, methods ? "method" : "header")) {
    auto text = readScalar(file, item, methods ? "a method" : kTokenListExpected);
    if (!text) {
      continue;
    }
    if (!isToken(*text)) {
      reportExpected(file, item, methods ? "a method" : "a header name", quote(*text));
      continue;
    }
    if (std::find(out.begin(), out.end(), *text) != out.end()) {
      file.error(item.valueMark(), field.key + ": " + quote(*text) + " is listed twice");
      continue;
    }
    out.push_back(std::move(*text));
  }
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    out += out.empty() ? "" : ", ";
    out += i;
  }
  return out;
}

// An origin as browsers send it (RFC 6454 §6.1): scheme "://" host [":" port], nothing after.
bool isOrigin(std::string_view text) {
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0 || sep + 3 >= text.size()) {
    return false;
  }
  const std::string_view rest = text.substr(sep + 3);
  return std::none_of(rest.begin(), rest.end(), [](char c) {
    return c == '/' || c == '?' || c == '#' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
  });
}

// "type/subtype" or "type/*", tokens on both sides, stored lower-case.
std::optional<std::string> readMediaRange(FileReader& file, const Field& field) {
  auto text = readScalar(file, field, kMediaRangeExpected);
  if (!text) {
    return std::nullopt;
  }
  const size_t slash = text->find('/');
  if (slash == std::string::npos || !isToken(text->substr(0, slash)) ||
      (text->substr(slash + 1) != "*" && !isToken(text->substr(slash + 1)))) {
    reportExpected(file, field, kMediaRangeExpected, quote(*text));
    return std::nullopt;
  }
  for (char& c : *text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

std::optional<int> readLevel(FileReader& file, const Field& field, compress::Encoding e) {
  const compress::LevelRange range = compress::levelRange(e);
  const auto level =
      readUnsigned(file, field, static_cast<uint64_t>(range.min), static_cast<uint64_t>(range.max));
  return level ? std::optional<int>(static_cast<int>(*level)) : std::nullopt;
}

}  // namespace

void readCompress(FileReader& file, const Field& field, CompressPolicy& compress) {
  if (field.value.IsScalar()) {
    const std::string& word = field.value.Scalar();
    if (word == "on" || word == "off") {
      compress.enabled = word == "on";  // YAML 1.2 reads these as strings; users write them
    } else if (const auto on = readBool(file, field)) {
      compress.enabled = *on;
    }
    return;
  }
  const MapReader map(file, field, "compress", kCompressKeys);
  if (!map.ok()) {
    return;
  }
  compress.enabled = true;
  if (const Field* f = map.find("algorithms")) {
    compress.algorithms.clear();
    for (const auto& item : listItems(file, *f, "algorithm")) {
      const auto text = readScalar(file, item, "zstd, br or gzip");
      if (!text) {
        continue;
      }
      const auto e = compress::encodingNamed(*text);
      if (!e) {
        reportExpected(file, item, "zstd, br or gzip", quote(*text));
      } else if (std::find(compress.algorithms.begin(), compress.algorithms.end(), *e) !=
                 compress.algorithms.end()) {
        file.error(item.valueMark(), "algorithms: " + quote(*text) + " is listed twice");
      } else {
        compress.algorithms.push_back(*e);
      }
    }
    if (compress.algorithms.empty() && f->value.IsSequence() && f->value.size() == 0) {
      file.error(f->valueMark(), "algorithms: expected at least one of zstd, br, gzip");
    }
  }
  if (const Field* f = map.find("types")) {
    compress.types.clear();
    for (const auto& item : listItems(file, *f, "type")) {
      if (auto type = readMediaRange(file, item)) {
        compress.types.push_back(std::move(*type));
      }
    }
  }
  if (const Field* f = map.find("min_size")) {
    assign(compress.min_size, readSize(file, *f, 0, kMaxMinSize));
  }
  if (const Field* f = map.find("level")) {
    if (f->value.IsMap()) {
      for (const auto& kv : f->value) {
        const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
        const auto e = compress::encodingNamed(name);
        const Field level_field{name, kv.second, kv.first.Mark()};
        if (!e) {
          file.error(kv.first.Mark(), "level: expected zstd, br or gzip, got " + quote(name));
          continue;
        }
        if (const auto level = readLevel(file, level_field, *e)) {
          compress.level[static_cast<size_t>(*e)] = *level;
        }
      }
    } else {
      // One number for every coding: 1–9 means the same thing to all three.
      const auto level = readUnsigned(file, *f, 1, 9);
      if (level) {
        for (const auto e :
             {compress::Encoding::kGzip, compress::Encoding::kZstd, compress::Encoding::kBrotli}) {
          compress.level[static_cast<size_t>(e)] = static_cast<int>(*level);
        }
      }
    }
  }
}

void readCache(FileReader& file, const Field& field, CachePolicy& cache) {
  if (field.value.IsScalar()) {
    const std::string& word = field.value.Scalar();
    if (word == "on" || word == "off") {
      cache.enabled = word == "on";
    } else if (const auto on = readBool(file, field)) {
      cache.enabled = *on;
    }
    return;
  }
  const MapReader map(file, field, "cache", kCacheKeys);
  if (!map.ok()) {
    return;
  }
  cache.enabled = true;
  if (const Field* f = map.find("max_size")) {
    assign(cache.max_size, readSize(file, *f, kMinCacheSize, kMaxCacheSize));
  }
  if (const Field* f = map.find("max_object_size")) {
    assign(cache.max_object_size, readSize(file, *f, 1, kMaxCacheSize));
  }
  if (cache.max_object_size > cache.max_size) {
    const Field* f = map.find("max_object_size");
    file.error(
        f != nullptr ? f->valueMark() : field.valueMark(),
        "max_object_size: larger than max_size (" + std::to_string(cache.max_size) + " bytes)");
  }
  if (const Field* f = map.find("key")) {
    assign(cache.key, readTemplate(file, *f, 0));
  }
  if (const Field* f = map.find("coalesce")) {
    assign(cache.coalesce, readBool(file, *f));
  }
  if (const Field* f = map.find("coalesce_timeout")) {
    assign(cache.coalesce_timeout, readDuration(file, *f, /*positive=*/true));
  }
  if (const Field* f = map.find("heuristic_freshness")) {
    assign(cache.heuristic_freshness, readBool(file, *f));
  }
}

void readRouteRedirect(FileReader& file, const Field& field, RouteRedirect& redirect) {
  const MapReader map(file, field, "redirect", kRedirectKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.find("status")) {
    const auto status = readUnsigned(file, *f, kMinStatus, kMaxStatus);
    if (status && std::find(kRedirectStatuses.begin(), kRedirectStatuses.end(), *status) ==
                      kRedirectStatuses.end()) {
      file.error(f->valueMark(),
                 "status: a redirect is 301, 302, 303, 307 or 308, got " + std::to_string(*status));
    } else {
      assign(redirect.status, status);
    }
  }
  int captures = 0;
  if (const Field* f = map.find("regex")) {
    redirect.compiled = compileRegex(file, *f, redirect.regex);
    captures = redirect.compiled ? redirect.compiled->NumberOfCapturingGroups() : 0;
  }
  if (const Field* f = map.require(file, "to")) {
    assign(redirect.to, readTemplate(file, *f, captures));
  }
}

void readPathRewrite(FileReader& file, const Field& field, PathRewrite& rewrite) {
  const MapReader map(file, field, "rewrite", kRewriteKeys);
  if (!map.ok()) {
    return;
  }
  const Field* prefix = map.find("prefix");
  const Field* regex = map.find("regex");
  const Field* replace = map.find("replace");
  if (prefix != nullptr && regex != nullptr) {
    file.error(regex->key_mark, "rewrite: prefix and regex exclude each other; choose one");
    return;
  }
  int captures = 0;
  if (prefix != nullptr) {
    const auto text = readScalar(file, *prefix, "a path prefix starting with '/'");
    if (text && !text->starts_with('/')) {
      reportExpected(file, *prefix, "a path prefix starting with '/'", quote(*text));
    } else {
      assign(rewrite.prefix, text);
    }
  }
  if (regex != nullptr) {
    rewrite.compiled = compileRegex(file, *regex, rewrite.regex);
    captures = rewrite.compiled ? rewrite.compiled->NumberOfCapturingGroups() : 0;
  }
  rewrite.has_path_rule = prefix != nullptr || regex != nullptr;
  if (rewrite.has_path_rule) {
    if (replace == nullptr) {
      file.error(map.mark(), "rewrite is missing required key \"replace\"");
    } else if (auto text = readScalar(file, *replace, "a path template starting with '/'")) {
      // A prefix swap may leave the rest of the path to follow: "" is fine, meaning "strip".
      if (prefix != nullptr && text->empty()) {
        rewrite.replace.clear();
      } else if (!text->starts_with('/') && !text->starts_with('$')) {
        reportExpected(file, *replace, "a path template starting with '/'", quote(*text));
      } else if (const auto why = policy::checkTemplate(*text, captures)) {
        file.error(replace->valueMark(), "replace: " + *why);
      } else {
        rewrite.replace = std::move(*text);
      }
    }
  } else if (replace != nullptr) {
    file.error(replace->key_mark, "rewrite: replace needs a prefix or a regex");
  }
  if (const Field* f = map.find("host")) {
    const auto text = readScalar(file, *f, "a host name");
    if (text && (text->empty() || !isFieldValue(*text) ||
                 text->find_first_of(" /?#@") != std::string::npos)) {
      reportExpected(file, *f, "a host name, with an optional :port", quote(*text));
    } else {
      assign(rewrite.host, text);
    }
  }
  if (!rewrite.has_path_rule && map.find("host") == nullptr) {
    file.error(map.mark(), "rewrite: expected prefix, regex or host");
  }
}

void readDirectResponse(FileReader& file, const Field& field, DirectResponse& respond) {
  const MapReader map(file, field, "respond", kRespondKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.find("status")) {
    assign(respond.status, readUnsigned(file, *f, kMinStatus, kMaxStatus));
  }
  const Field* body = map.find("body");
  const Field* body_file = map.find("file");
  if (body != nullptr && body_file != nullptr) {
    file.error(body_file->key_mark, "respond: body and file exclude each other; choose one");
  } else if (body != nullptr) {
    const auto text = readScalar(file, *body, "the body's text");
    if (text && text->size() > kMaxBodyBytes) {
      file.error(body->valueMark(), "body: at most 1MiB; use a file for more");
    } else {
      assign(respond.body, text);
    }
  } else if (body_file != nullptr) {
    assign(respond.body, readBodyFile(file, *body_file, respond.file));
  }
  if (const Field* f = map.find("content_type")) {
    assign(respond.content_type, readContentType(file, *f));
  }
  if (const Field* f = map.find("headers")) {
    if (!f->value.IsMap()) {
      reportExpected(file, *f, "a mapping of header names to values", describe(f->value));
      return;
    }
    if (f->value.size() > kMaxRespondHeaders) {
      file.error(f->valueMark(), "headers: at most 8 fields");
      return;
    }
    for (const auto& kv : f->value) {
      const Field name{kv.first.IsScalar() ? kv.first.Scalar() : std::string(), kv.first,
                       kv.first.Mark()};
      const Field value{name.key, kv.second, kv.first.Mark()};
      auto n = readHeaderName(file, name);
      auto v = readScalar(file, value, "a header value");
      if (!n || !v) {
        continue;
      }
      if (isProxyManagedHeader(*n) || equalsIgnoreCase(*n, "content-type")) {
        file.error(name.key_mark, "headers: " + quote(*n) + " is written by Ballast" +
                                      (equalsIgnoreCase(*n, "content-type") ? "; use content_type"
                                                                            : std::string()));
        continue;
      }
      if (!isFieldValue(*v)) {
        reportExpected(file, value, "a header value without control characters", quote(*v));
        continue;
      }
      respond.headers.emplace_back(std::move(*n), std::move(*v));
    }
  }
}

void readErrorPages(FileReader& file, const Field& field, ErrorPages& pages) {
  const MapReader map(file, field, "error_pages", kErrorPageKeys);
  if (!map.ok()) {
    return;
  }
  if (const Field* f = map.require(file, "pages")) {
    if (!f->value.IsMap()) {
      reportExpected(file, *f, "a mapping of statuses to files", describe(f->value));
    } else {
      for (const auto& kv : f->value) {
        const Field status_field{"status", kv.first, kv.first.Mark()};
        const auto status = readUnsigned(file, status_field, kMinErrorStatus, kMaxStatus);
        const Field page_field{
            "pages." + (kv.first.IsScalar() ? kv.first.Scalar() : std::string("?")), kv.second,
            kv.first.Mark()};
        ErrorPage page;
        const auto body = readBodyFile(file, page_field, page.file);
        if (status && body) {
          page.body = *body;
          pages.pages[static_cast<uint16_t>(*status)] = std::move(page);
        }
      }
    }
  }
  if (const Field* f = map.find("content_type")) {
    assign(pages.content_type, readContentType(file, *f));
  }
  if (const Field* f = map.find("backend_errors")) {
    assign(pages.backend_errors, readBool(file, *f));
  }
}

void readCors(FileReader& file, const Field& field, CorsPolicy& cors) {
  if (field.value.IsScalar() &&
      (field.value.Scalar() == "off" || field.value.Scalar() == "false")) {
    cors.enabled = false;
    return;
  }
  const MapReader map(file, field, "cors", kCorsKeys);
  if (!map.ok()) {
    return;
  }
  cors.enabled = true;
  if (const Field* f = map.find("origins")) {
    for (const auto& item : listItems(file, *f, "origin")) {
      const auto text = readScalar(file, item, "an origin such as https://app.example.com");
      if (!text) {
        continue;
      }
      if (*text == "*") {
        cors.any_origin = true;
      } else if (!isOrigin(*text)) {
        reportExpected(file, item, "an origin such as https://app.example.com, or \"*\"",
                       quote(*text));
      } else {
        cors.origins.push_back(*text);
      }
    }
  }
  if (const Field* f = map.find("origin_regex")) {
    for (const auto& item : listItems(file, *f, "origin_regex")) {
      std::string text;
      if (auto re = compileRegex(file, item, text)) {
        cors.origin_regexes.push_back(std::move(text));
        cors.compiled.push_back(std::move(re));
      }
    }
  }
  if (!cors.any_origin && cors.origins.empty() && cors.origin_regexes.empty() &&
      map.find("origins") == nullptr && map.find("origin_regex") == nullptr) {
    file.error(map.mark(), "cors is missing required key \"origins\" (or origin_regex)");
  }
  if (const Field* f = map.find("methods")) {
    cors.methods.clear();
    readTokenList(file, *f, cors.methods, true);
  }
  if (const Field* f = map.find("headers")) {
    readTokenList(file, *f, cors.headers, false);
  }
  if (const Field* f = map.find("expose_headers")) {
    readTokenList(file, *f, cors.expose_headers, false);
  }
  if (const Field* f = map.find("credentials")) {
    assign(cors.credentials, readBool(file, *f));
    // Fetch refuses credentials with "*": a config that asks for both would never work.
    if (cors.credentials && cors.any_origin) {
      file.error(f->valueMark(),
                 "credentials: browsers refuse credentials with origins \"*\"; list the origins");
    }
  }
  if (const Field* f = map.find("max_age")) {
    if (const auto age = readDuration(file, *f, false)) {
      const auto s = std::chrono::duration_cast<std::chrono::seconds>(*age).count();
      if (s > static_cast<int64_t>(kMaxCorsAgeSeconds)) {
        file.error(f->valueMark(), "max_age: at most 24h (browsers cap it lower still)");
      } else {
        cors.max_age_s = static_cast<uint32_t>(s);
      }
    }
  }
  cors.methods_joined = joined(cors.methods);
  cors.headers_joined = joined(cors.headers);
  cors.expose_joined = joined(cors.expose_headers);
}

}  // namespace ballast::config
