// src/config/yaml_reader.cpp — typed reads with positions; the only place that touches
// yaml-cpp nodes' contents, so the only place besides parsing that could see their quirks.
#include "config/yaml_reader.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <tuple>
#include <unordered_map>

#include "config/env_expand.h"
#include "config/limits.h"
#include "config/units.h"

namespace ballast::config {
namespace {

// Long values are cut in messages: the position already says where the rest is.
constexpr size_t kMaxQuotedChars = 60;
constexpr double kPercent = 100.0;
constexpr std::string_view kDurationExample = "like 500ms, 2s, 1m";
constexpr std::string_view kAddressExpected = "IP:port such as 127.0.0.1:8080 or [::1]:8080";
constexpr char kFirstPrintable = ' ';
constexpr char kLastPrintable = '~';

}  // namespace

std::string quote(std::string_view text) {
  std::string out = "\"";
  const std::string_view shown = text.substr(0, kMaxQuotedChars);
  for (const char c : shown) {
    out += (c >= kFirstPrintable && c <= kLastPrintable) ? c : '?';
  }
  if (shown.size() < text.size()) {
    out += "...";
  }
  out += "\"";
  return out;
}

namespace {

// Sizes in messages read as users write them: 1024 → "1KiB".
std::string formatSize(uint64_t bytes) {
  constexpr std::array<std::string_view, 5> kSuffixes = {"", "KiB", "MiB", "GiB", "TiB"};
  constexpr uint64_t kKibi = 1024;
  size_t i = 0;
  while (i + 1 < kSuffixes.size() && bytes != 0 && bytes % kKibi == 0) {
    bytes /= kKibi;
    ++i;
  }
  return std::to_string(bytes) + std::string(kSuffixes[i]);
}

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

}  // namespace

void Diagnostics::noteFile(const std::string& file) {
  if (std::find(files_.begin(), files_.end(), file) == files_.end()) {
    files_.push_back(file);
  }
}

void Diagnostics::add(const Location& where, std::string message) {
  if (errors_.size() >= kMaxErrors) {
    if (dropped_++ == 0) {
      first_dropped_ = where;
    }
    return;
  }
  errors_.push_back({where.file, where.line, where.column, std::move(message)});
}

std::vector<ConfigError> Diagnostics::take() {
  const auto rank = [this](const ConfigError& e) {
    const auto it = std::find(files_.begin(), files_.end(), e.file);
    return std::tuple(it - files_.begin(), e.line, e.column);
  };
  std::stable_sort(errors_.begin(), errors_.end(),
                   [&](const ConfigError& a, const ConfigError& b) { return rank(a) < rank(b); });
  if (dropped_ > 0) {
    errors_.push_back({first_dropped_.file, first_dropped_.line, first_dropped_.column,
                       "too many errors: " + std::to_string(dropped_) + " more not shown"});
  }
  dropped_ = 0;
  return std::move(errors_);
}

void Diagnostics::reportOverBudget(const Location& where) {
  if (!budget_reported_) {
    budget_reported_ = true;
    // Past the error cap too: it explains why the rest of the file was not checked.
    errors_.push_back({where.file, where.line, where.column,
                       "configuration too large: more than " + std::to_string(kMaxVisitedNodes) +
                           " nodes (an alias counts each time it is used)"});
  }
}

Location FileReader::at(const YAML::Mark& mark) const {
  if (mark.line < 0) {
    return {file_, 0, 0};
  }
  return {file_, mark.line + 1, mark.column + 1};
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    default:
      return "nothing";
  }
}

std::string joinNames(std::span<const std::string_view> names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) {
      out += ", ";
    }
    out += n;
  }
  return out;
}

void reportExpected(FileReader& file, const Field& field, std::string_view expected,
                    const std::string& got) {
  file.error(field.valueMark(), field.key + ": expected " + std::string(expected) + ", got " + got);
}

MapReader::MapReader(FileReader& file, const Field& field, std::string_view what,
                     std::span<const std::string_view> allowed,
                     std::span<const std::string_view> unlisted)
    : mark_(field.valueMark()), what_(what) {
  const YAML::Node& node = field.value;
  if (node.IsNull()) {
    return;
  }
  if (!node.IsMap()) {
    ok_ = false;
    if (field.key.empty()) {
      file.error(mark_, "expected a mapping of settings at top level, got " + describe(node));
    } else {
      reportExpected(file, field, "a mapping", describe(node));
    }
    return;
  }
  std::unordered_map<std::string, int> first_line;
  for (const auto& entry : node) {
    const YAML::Node& key = entry.first;
    if (!file.spend(key.Mark())) {
      break;
    }
    if (!key.IsScalar()) {
      file.error(key.Mark(), "expected a plain key in " + what_ + ", got " + describe(key));
      continue;
    }
    const std::string& name = key.Scalar();
    const auto [it, inserted] = first_line.emplace(name, key.Mark().line + 1);
    if (!inserted) {
      file.error(key.Mark(), "duplicate key " + quote(name) + " (first at line " +
                                 std::to_string(it->second) + ")");
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end() &&
        std::find(unlisted.begin(), unlisted.end(), name) == unlisted.end()) {
      file.error(key.Mark(), "unknown key " + quote(name) + " in " + what_ +
                                 "; allowed keys: " + joinNames(allowed));
      continue;
    }
    fields_.push_back({name, entry.second, key.Mark()});
  }
}

const Field* MapReader::find(std::string_view key) const {
  for (const auto& f : fields_) {
    if (f.key == key) {
      return &f;
    }
  }
  return nullptr;
}

const Field* MapReader::require(FileReader& file, std::string_view key) const {
  const Field* f = find(key);
  if (f == nullptr && ok_) {
    file.error(mark_, what_ + " is missing required key \"" + std::string(key) + "\"");
  }
  return f;
}

std::vector<Field> listItems(FileReader& file, const Field& field, std::string_view item_name) {
  std::vector<Field> items;
  const YAML::Node& node = field.value;
  if (node.IsNull()) {
    return items;
  }
  if (!node.IsSequence()) {
    reportExpected(file, field, "a list", describe(node));
    return items;
  }
  for (const auto& item : node) {
    if (!file.spend(item.Mark())) {
      break;
    }
    items.push_back({std::string(item_name), item, item.Mark()});
  }
  return items;
}

std::optional<std::string> readScalar(FileReader& file, const Field& field,
                                      std::string_view expected) {
  if (!field.value.IsScalar()) {
    reportExpected(file, field, expected, describe(field.value));
    return std::nullopt;
  }
  auto expanded = expandEnv(field.value.Scalar());
  if (!expanded.ok()) {
    file.error(field.valueMark(), field.key + ": " + expanded.error);
    return std::nullopt;
  }
  return std::move(expanded.text);
}

std::optional<uint64_t> readUnsigned(FileReader& file, const Field& field, uint64_t min,
                                     uint64_t max) {
  const std::string expected =
      "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  const auto text = readScalar(file, field, expected);
  if (!text) {
    return std::nullopt;
  }
  const auto value = parseUnsigned(*text);
  if (!value || *value < min || *value > max) {
    reportExpected(file, field, expected, quote(*text));
    return std::nullopt;
  }
  return value;
}

std::optional<Duration> readDuration(FileReader& file, const Field& field, bool positive) {
  const std::string expected = std::string(positive ? "a positive duration " : "a duration ") +
                               std::string(kDurationExample);
  const auto text = readScalar(file, field, expected);
  if (!text) {
    return std::nullopt;
  }
  const auto value = parseDuration(*text);
  if (!value || (positive && value->count() == 0)) {
    reportExpected(file, field, expected, quote(*text));
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> readSize(FileReader& file, const Field& field, uint64_t min, uint64_t max) {
  const std::string expected =
      "a size from " + formatSize(min) + " to " + formatSize(max) + " like 64KiB or 1MiB";
  const auto text = readScalar(file, field, expected);
  if (!text) {
    return std::nullopt;
  }
  const auto value = parseSize(*text);
  if (!value || *value < min || *value > max) {
    reportExpected(file, field, expected, quote(*text));
    return std::nullopt;
  }
  return value;
}

std::optional<double> readFraction(FileReader& file, const Field& field, double max) {
  const std::string expected =
      "a fraction from 0 to " + std::to_string(std::lround(max * kPercent)) + "% like 10% or 0.1";
  const auto text = readScalar(file, field, expected);
  if (!text) {
    return std::nullopt;
  }
  const auto value = parseFraction(*text);
  if (!value || *value > max) {
    reportExpected(file, field, expected, quote(*text));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> readBool(FileReader& file, const Field& field) {
  constexpr std::string_view kExpected = "true or false";
  const auto text = readScalar(file, field, kExpected);
  if (!text) {
    return std::nullopt;
  }
  if (*text == "true") {
    return true;
  }
  if (*text == "false") {
    return false;
  }
  reportExpected(file, field, kExpected, quote(*text));
  return std::nullopt;
}

std::optional<net::SocketAddress> readAddress(FileReader& file, const Field& field) {
  const auto text = readScalar(file, field, kAddressExpected);
  if (!text) {
    return std::nullopt;
  }
  auto address = net::SocketAddress::parse(*text);
  if (!address) {
    reportExpected(file, field, kAddressExpected, quote(*text));
  }
  return address;
}

std::optional<std::string> readFilePath(FileReader& file, const Field& field, bool allow_empty) {
  constexpr std::string_view kPathExpected = "an absolute file path";
  auto text = readScalar(file, field, kPathExpected);
  if (!text) {
    return std::nullopt;
  }
  if ((text->empty() && allow_empty) || (text->starts_with('/') && !text->ends_with('/'))) {
    return text;
  }
  reportExpected(file, field, kPathExpected, quote(*text));
  return std::nullopt;
}

std::optional<std::string> readName(FileReader& file, const Field& field) {
  const std::string expected = "a name of letters, digits, '_', '.' or '-' (at most " +
                               std::to_string(kMaxNameLength) + " characters)";
  auto text = readScalar(file, field, expected);
  if (!text) {
    return std::nullopt;
  }
  if (text->empty() || text->size() > kMaxNameLength ||
      !std::all_of(text->begin(), text->end(), isNameChar)) {
    reportExpected(file, field, expected, quote(*text));
    return std::nullopt;
  }
  return text;
}

}  // namespace ballast::config
