// src/config/yaml_reader.h — typed, position-aware reads from yaml-cpp nodes. Every read
// reports its own error at the value's line:column and returns nullopt, so the caller can
// keep going and collect every error in one pass.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_error.h"
#include "config/config_types.h"
#include "config/limits.h"
#include "net/address.h"

namespace ballast::config {

// A place in a config file, 1-based like editors show it.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
};

// Errors from every file of one load, plus a budget that bounds the work hostile input can
// cause (aliases make a small document look huge).
class Diagnostics {
 public:
  // Files sort their errors in the order they were first read, top file first.
  void noteFile(const std::string& file);
  void add(const Location& where, std::string message);
  // Counts one visited node; false once the budget is spent, reported at `where` once.
  // Takes the location lazily: this runs for every node, the report at most once.
  template <typename WhereFn>
  bool spend(WhereFn where) {
    if (++visited_ <= kMaxVisitedNodes) {
      return true;
    }
    reportOverBudget(where());
    return false;
  }
  bool empty() const { return errors_.empty(); }
  size_t errorCount() const { return errors_.size() + dropped_; }
  // Something that works but deserves attention (a certificate about to expire): printed by
  // `ballast validate` and logged at load, never a reason to refuse the file.
  void warn(const Location& where, std::string message) {
    warnings_.push_back({where.file, where.line, where.column, std::move(message)});
  }
  std::vector<ConfigError> takeWarnings() { return std::move(warnings_); }
  // Every error, sorted by file (in reading order), line and column; errors past kMaxErrors
  // are summed up in one last entry.
  std::vector<ConfigError> take();

 private:
  void reportOverBudget(const Location& where);

  std::vector<ConfigError> errors_;
  std::vector<ConfigError> warnings_;
  std::vector<std::string> files_;
  size_t dropped_ = 0;
  Location first_dropped_;
  size_t visited_ = 0;
  bool budget_reported_ = false;
};

// The file being read: turns yaml-cpp marks into locations in it.
class FileReader {
 public:
  FileReader(std::string file, Diagnostics& diagnostics)
      : file_(std::move(file)), diagnostics_(diagnostics) {
    diagnostics_.noteFile(file_);
  }

  const std::string& file() const { return file_; }
  Location at(const YAML::Mark& mark) const;
  void error(const YAML::Mark& mark, std::string message) {
    diagnostics_.add(at(mark), std::move(message));
  }
  void warning(const YAML::Mark& mark, std::string message) {
    diagnostics_.warn(at(mark), std::move(message));
  }
  bool spend(const YAML::Mark& mark) {
    return diagnostics_.spend([&] { return at(mark); });
  }
  Diagnostics& diagnostics() { return diagnostics_; }

 private:
  std::string file_;
  Diagnostics& diagnostics_;
};

// One `key: value` of a mapping, or one list item (then key is the item's kind, "listener").
struct Field {
  std::string key;
  YAML::Node value;
  YAML::Mark key_mark;
  // An empty value's own mark is the next token, often on another line; the key is where
  // the reader should look.
  YAML::Mark valueMark() const { return value.IsNull() ? key_mark : value.Mark(); }
};

// Walks a mapping once: reports keys outside `allowed` and `unlisted`, and repeated keys.
// `what` names the mapping in messages ("listener", "top level"). Keys in `unlisted` are
// accepted but not named among the allowed ones: sections the caller skips (reserved top-level
// keys), or keys that belong to another setting (`header` in a tcp listener's timeouts), which
// the caller finds and reports with a better message than "unknown key".
// A null node reads as an empty mapping, so `timeouts:` alone means all defaults.
class MapReader {
 public:
  MapReader(FileReader& file, const Field& field, std::string_view what,
            std::span<const std::string_view> allowed,
            std::span<const std::string_view> unlisted = {});

  // False when the node was not a mapping (already reported).
  bool ok() const { return ok_; }
  const Field* find(std::string_view key) const;
  const YAML::Mark& mark() const { return mark_; }
  // Reports `<what> is missing required key "<key>"` unless present.
  const Field* require(FileReader& file, std::string_view key) const;

 private:
  std::vector<Field> fields_;
  YAML::Mark mark_;
  std::string what_;
  bool ok_ = true;
};

// Items of a list field, each named item_name ("listener") in messages. Null reads as
// empty; a non-list is reported and reads as empty.
std::vector<Field> listItems(FileReader& file, const Field& field, std::string_view item_name);

// "\"text\"", cut short and with control bytes masked, for messages.
std::string quote(std::string_view text);
// "a list", "a mapping", "nothing", or the quoted scalar.
std::string describe(const YAML::Node& node);

// The scalar after ${VAR} expansion; reports non-scalars as "expected <expected>".
std::optional<std::string> readScalar(FileReader& file, const Field& field,
                                      std::string_view expected);

template <typename E>
struct Choice {
  std::string_view name;
  E value;
};

// "a, b, c" for messages.
std::string joinNames(std::span<const std::string_view> names);

std::optional<uint64_t> readUnsigned(FileReader& file, const Field& field, uint64_t min,
                                     uint64_t max);
std::optional<Duration> readDuration(FileReader& file, const Field& field, bool positive);
std::optional<uint64_t> readSize(FileReader& file, const Field& field, uint64_t min, uint64_t max);
std::optional<double> readFraction(FileReader& file, const Field& field, double max);
std::optional<bool> readBool(FileReader& file, const Field& field);
// Addresses always need a port here: listeners bind one and backends are dialled on one.
std::optional<net::SocketAddress> readAddress(FileReader& file, const Field& field);
// [A-Za-z0-9_.-]+, at most kMaxNameLength.
std::optional<std::string> readName(FileReader& file, const Field& field);
// An absolute file path (not a directory: no trailing '/'); with allow_empty, "" too (unset).
std::optional<std::string> readFilePath(FileReader& file, const Field& field, bool allow_empty);

// Assigns when the read succeeded; a failed read was reported and the default stays.
template <typename T, typename U>
void assign(T& target, const std::optional<U>& value) {
  if (value) {
    target = static_cast<T>(*value);
  }
}

// Reports `<key>: expected <expected>, got <describe(value)>` at the value.
void reportExpected(FileReader& file, const Field& field, std::string_view expected,
                    const std::string& got);

template <typename E>
std::optional<E> readChoice(FileReader& file, const Field& field,
                            std::span<const Choice<E>> choices) {
  std::vector<std::string_view> names;
  names.reserve(choices.size());
  for (const auto& c : choices) {
    names.push_back(c.name);
  }
  const std::string expected = "one of " + joinNames(names);
  const auto text = readScalar(file, field, expected);
  if (!text) {
    return std::nullopt;
  }
  for (const auto& c : choices) {
    if (c.name == *text) {
      return c.value;
    }
  }
  reportExpected(file, field, expected, "\"" + *text + "\"");
  return std::nullopt;
}

}  // namespace ballast::config
