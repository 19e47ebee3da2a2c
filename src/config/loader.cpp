// src/config/loader.cpp — top-level keys, includes and merging. One Loader per load; the
// files it reads are parsed one at a time, depth first, top file first.
#include "config/loader.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string_view>
#include <utility>

#include "config/file_text.h"
#include "config/forward_auth_sections.h"
#include "config/limits.h"
#include "config/plane_sections.h"
#include "config/sections.h"
#include "config/validate.h"
#include "config/yaml_document.h"
#include "config/yaml_reader.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kProxyTopKeys = {"include"sv,  "workers"sv,   "io"sv,    "shutdown_timeout"sv,
                                      "logging"sv,  "listeners"sv, "pools"sv, "allow_exec_checks"sv,
                                      "discovery"sv};
// Every plane's sections live in one file, so the top level accepts them all.
template <size_t... N>
constexpr auto joinKeys(const std::array<std::string_view, N>&... lists) {
  std::array<std::string_view, (N + ...)> out{};
  size_t i = 0;
  ((std::copy(lists.begin(), lists.end(), out.begin() + static_cast<std::ptrdiff_t>(i)),
    i += lists.size()),
   ...);
  return out;
}
constexpr auto kTopKeys =
    joinKeys(kProxyTopKeys, kControlTopKeys, kKernelTopKeys, kUplinkTopKeys, kBgpTopKeys);
constexpr std::array kLoggingKeys = {"level"sv, "format"sv,       "file"sv,
                                     "gelf"sv,  "repeat_burst"sv, "repeat_interval"sv};
// Settings of the process as a whole: only the top file may set them.
// allow_exec_checks too: an included file must not grant itself the right to run commands.
constexpr std::array kTopFileOnlyKeys = {"workers"sv, "io"sv, "allow_exec_checks"sv};

constexpr std::array<Choice<IoBackend>, 3> kIoBackends = {{
    {"auto", IoBackend::kAuto},
    {"io_uring", IoBackend::kIoUring},
    {"epoll", IoBackend::kEpoll},
}};
constexpr std::array<Choice<LogLevel>, 4> kLogLevels = {{
    {"debug", LogLevel::kDebug},
    {"info", LogLevel::kInfo},
    {"warn", LogLevel::kWarn},
    {"error", LogLevel::kError},
}};
constexpr std::array<Choice<LogFormat>, 2> kLogFormats = {{
    {"json", LogFormat::kJson},
    {"text", LogFormat::kText},
}};
constexpr std::string_view kAuto = "auto";

// Scalars set so far; the first file to set one wins, and the top file is read first.
struct Scalars {
  std::optional<uint32_t> workers;
  std::optional<IoBackend> io;
  std::optional<Duration> shutdown_timeout;
  std::optional<LogLevel> log_level;
  std::optional<LogFormat> log_format;
  std::optional<std::string> log_file;
  std::optional<net::SocketAddress> log_gelf;
  std::optional<uint32_t> log_repeat_burst;
  std::optional<Duration> log_repeat_interval;
};

template <typename T>
void setOnce(std::optional<T>& slot, const std::optional<T>& value) {
  if (!slot && value) {
    slot = value;
  }
}

std::string errnoText(int err) { return std::strerror(err); }  // NOLINT(concurrency-mt-unsafe)

std::string dirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Keeps relative names relative, so messages show "conf.d/a.yaml", not "./conf.d/a.yaml".
std::string joinPath(const std::string& dir, const std::string& path) {
  if (path.starts_with('/') || dir.empty() || dir == ".") {
    return path;
  }
  return dir.ends_with('/') ? dir + path : dir + "/" + path;
}

// The including file's directory is literal text, not a pattern.
std::string escapeGlob(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

// Paths are quoted whole: unlike values, a cut path would not say which file.
std::string quotePath(const std::string& path) { return "\"" + path + "\""; }

std::optional<std::string> canonicalPath(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> resolved(realpath(path.c_str(), nullptr), &std::free);
  if (!resolved) {
    return std::nullopt;
  }
  return std::string(resolved.get());
}

class Loader {
 public:
  explicit Loader(const LoadOptions& options) : options_(options) {}

  // canonical is empty when the text has no file behind it (tests, the fuzzer).
  void loadTop(std::string_view yaml, const std::string& filename, const std::string& base_dir,
               const std::string& canonical) {
    if (!canonical.empty()) {
      stack_.push_back({canonical, filename});
      included_.emplace(canonical, Location{filename, 0, 0});
    }
    loadDocument(yaml, filename, base_dir, 0);
  }

  LoadResult finish() {
    Config config = std::move(config_);
    config.workers = scalars_.workers.value_or(config.workers);
    config.io = scalars_.io.value_or(config.io);
    config.shutdown_timeout = scalars_.shutdown_timeout.value_or(config.shutdown_timeout);
    config.logging.level = scalars_.log_level.value_or(config.logging.level);
    config.logging.format = scalars_.log_format.value_or(config.logging.format);
    config.logging.file = scalars_.log_file.value_or(config.logging.file);
    config.logging.gelf = scalars_.log_gelf ? scalars_.log_gelf : config.logging.gelf;
    config.logging.repeat_burst = scalars_.log_repeat_burst.value_or(config.logging.repeat_burst);
    config.logging.repeat_interval =
        scalars_.log_repeat_interval.value_or(config.logging.repeat_interval);
    resolveForwardAuthPools(config, sources_);
    validateConfig(config, sources_, complete_, diagnostics_);
    LoadResult result;
    if (diagnostics_.empty()) {
      result.config = std::make_shared<const Config>(std::move(config));
    }
    result.errors = diagnostics_.take();
    result.warnings = diagnostics_.takeWarnings();
    return result;
  }

 private:
  struct StackEntry {
    std::string canonical;
    std::string display;
  };

  void loadDocument(std::string_view yaml, const std::string& display, const std::string& dir,
                    size_t depth) {
    FileReader file(display, diagnostics_);
    const auto root = parseDocument(file, yaml);
    if (!root) {
      complete_ = false;
      return;
    }
    try {
      readTopLevel(file, *root, dir, depth);
    } catch (const YAML::Exception& e) {
      // yaml-cpp can still throw on odd nodes (bad conversions, zombie nodes).
      file.error(e.mark, "invalid YAML: " + e.msg);
      complete_ = false;
    }
  }

  void readTopLevel(FileReader& file, const YAML::Node& root, const std::string& dir,
                    size_t depth) {
    const Field root_field{"", root, root.Mark()};
    // config_source is read by config_source.cpp; the loader reads the bootstrap's other keys.
    static constexpr std::array kUnlistedTopKeys = {"config_source"sv};
    const MapReader top(file, root_field, "top level", kTopKeys, kUnlistedTopKeys);
    if (!top.ok()) {
      return;
    }
    if (depth > 0) {
      for (const auto key : kTopFileOnlyKeys) {
        if (const Field* f = top.find(key)) {
          file.error(f->key_mark, std::string(key) + " may only be set in the top-level file");
        }
      }
    } else {
      if (const Field* f = top.find("workers")) {
        setOnce(scalars_.workers, readWorkers(file, *f));
      }
      if (const Field* f = top.find("io")) {
        setOnce(scalars_.io, readChoice<IoBackend>(file, *f, kIoBackends));
      }
      // Before the pools, whose exec checks it allows (includes are read after this file).
      if (const Field* f = top.find("allow_exec_checks")) {
        assign(config_.allow_exec_checks, readBool(file, *f));
      }
    }
    if (const Field* f = top.find("shutdown_timeout")) {
      setOnce(scalars_.shutdown_timeout, readDuration(file, *f, /*positive=*/false));
    }
    if (const Field* f = top.find("logging")) {
      const MapReader logging(file, *f, "logging", kLoggingKeys);
      if (const Field* level = logging.find("level")) {
        setOnce(scalars_.log_level, readChoice<LogLevel>(file, *level, kLogLevels));
      }
      if (const Field* format = logging.find("format")) {
        setOnce(scalars_.log_format, readChoice<LogFormat>(file, *format, kLogFormats));
      }
      if (const Field* path = logging.find("file")) {
        const auto text = readScalar(file, *path, "an absolute file path");
        if (text && text->starts_with('/') && !text->ends_with('/')) {
          setOnce(scalars_.log_file, text);
        } else if (text) {
          reportExpected(file, *path, "an absolute file path", quote(*text));
        }
      }
      if (const Field* gelf = logging.find("gelf")) {
        setOnce(scalars_.log_gelf, readAddress(file, *gelf));
      }
      if (const Field* burst = logging.find("repeat_burst")) {
        const auto n = readUnsigned(file, *burst, 1, kMaxLogRepeatBurst);
        setOnce(scalars_.log_repeat_burst,
                n ? std::optional<uint32_t>(static_cast<uint32_t>(*n)) : std::nullopt);
      }
      if (const Field* interval = logging.find("repeat_interval")) {
        setOnce(scalars_.log_repeat_interval, readDuration(file, *interval, /*positive=*/true));
      }
    }
    if (const Field* f = top.find("listeners")) {
      readListeners(file, *f, config_, sources_);
    }
    if (const Field* f = top.find("pools")) {
      readPools(file, *f, config_, sources_);
    }
    if (const Field* f = top.find("discovery")) {
      readDiscoverySettings(file, *f, config_.discovery);
    }
    readControlSections(file, top, config_);
    readKernelSections(file, top, config_);
    readUplinkSections(file, top, config_);
    readBgpSections(file, top, config_);
    // Last, so this file's listeners and pools come before those it includes.
    if (const Field* f = top.find("include")) {
      readIncludes(file, *f, dir, depth);
    }
  }

  static std::optional<uint32_t> readWorkers(FileReader& file, const Field& field) {
    if (field.value.IsScalar() && field.value.Scalar() == kAuto) {
      return 0;
    }
    const std::string expected = "auto or an integer from 0 to " + std::to_string(kMaxWorkers);
    const auto text = readScalar(file, field, expected);
    if (!text) {
      return std::nullopt;
    }
    if (*text == kAuto) {
      return 0;
    }
    const auto value = parseUnsigned(*text);
    if (!value || *value > kMaxWorkers) {
      reportExpected(file, field, expected, quote(*text));
      return std::nullopt;
    }
    return static_cast<uint32_t>(*value);
  }

  void readIncludes(FileReader& file, const Field& field, const std::string& dir, size_t depth) {
    std::vector<Field> items;
    if (field.value.IsScalar()) {
      items.push_back(field);  // a single pattern needs no list
    } else {
      items = listItems(file, field, "include");
    }
    for (const auto& item : items) {
      const auto pattern = readScalar(file, item, "a file path or glob pattern");
      if (!pattern) {
        continue;
      }
      if (pattern->empty()) {
        reportExpected(file, item, "a file path or glob pattern", "\"\"");
        continue;
      }
      if (!options_.follow_includes) {
        file.error(item.valueMark(), "include: includes are disabled for this load");
        continue;
      }
      for (const auto& path : expandPattern(file, item, dir, *pattern)) {
        includeFile(file, item, path, depth);
      }
    }
  }

  std::vector<std::string> expandPattern(FileReader& file, const Field& item,
                                         const std::string& dir, const std::string& pattern) {
    std::vector<std::string> paths;
    const std::string full = joinPath(escapeGlob(dir), pattern);
    glob_t matches{};
    // GLOB_NOMAGIC: a plain path comes back even when missing, so reading it reports
    // "No such file"; a pattern matching nothing is fine (an empty conf.d). glob() reads the
    // environment and locale, which nothing changes while a load runs.
    const int rc = ::glob(full.c_str(), GLOB_NOMAGIC, nullptr,  // NOLINT(concurrency-mt-unsafe)
                          &matches);
    if (rc == 0) {
      for (size_t i = 0; i < matches.gl_pathc; ++i) {
        paths.emplace_back(matches.gl_pathv[i]);
      }
    } else if (rc != GLOB_NOMATCH) {
      file.error(item.valueMark(), "include: cannot expand " + quote(pattern));
      complete_ = false;
    }
    ::globfree(&matches);
    return paths;
  }

  void includeFile(FileReader& file, const Field& item, const std::string& path, size_t depth) {
    const YAML::Mark mark = item.valueMark();
    const auto fail = [&](const std::string& message) {
      file.error(mark, "include: " + message);
      complete_ = false;
    };
    if (depth + 1 > kMaxIncludeDepth) {
      fail("nested deeper than " + std::to_string(kMaxIncludeDepth) + " files at " +
           quotePath(path));
      return;
    }
    if (included_.size() >= kMaxIncludedFiles) {
      fail("more than " + std::to_string(kMaxIncludedFiles) + " files");
      return;
    }
    const auto canonical = canonicalPath(path);
    if (!canonical) {
      fail("cannot read " + quotePath(path) + ": " + errnoText(errno));
      return;
    }
    for (size_t i = 0; i < stack_.size(); ++i) {
      if (stack_[i].canonical == *canonical) {
        std::string chain = "cycle ";
        for (size_t j = i; j < stack_.size(); ++j) {
          chain += stack_[j].display;
          chain += " -> ";
        }
        chain += path;
        fail(chain);
        return;
      }
    }
    if (const auto it = included_.find(*canonical); it != included_.end()) {
      const Location& first = it->second;
      fail(quotePath(path) + " is already included at " + first.file + ":" +
           std::to_string(first.line) + ":" + std::to_string(first.column));
      return;
    }
    included_.emplace(*canonical, file.at(mark));
    std::string text;
    if (const auto err = readWholeFile(path, text)) {
      fail("cannot read " + quotePath(path) + ": " + *err);
      return;
    }
    stack_.push_back({*canonical, path});
    loadDocument(text, path, dirName(path), depth + 1);
    stack_.pop_back();
  }

  LoadOptions options_;
  Diagnostics diagnostics_;
  Config config_;
  SourceMap sources_;
  Scalars scalars_;
  bool complete_ = true;                      // every file was read and parsed
  std::vector<StackEntry> stack_;             // files being read, outermost first
  std::map<std::string, Location> included_;  // canonical path → where it was included
};

LoadResult internalError(const std::string& filename, const char* what) {
  LoadResult result;
  result.errors.push_back({filename, 0, 0, std::string("internal error: ") + what});
  return result;
}

}  // namespace

LoadResult loadConfigText(std::string_view yaml, const std::string& filename,
                          const std::string& base_dir, const LoadOptions& options) {
  try {
    Loader loader(options);
    std::string canonical;
    if (options.follow_includes) {
      canonical = canonicalPath(joinPath(base_dir, filename)).value_or("");
    }
    loader.loadTop(yaml, filename, base_dir, canonical);
    return loader.finish();
  } catch (const std::exception& e) {
    return internalError(filename, e.what());
  } catch (...) {
    return internalError(filename, "unknown exception");
  }
}

LoadResult loadConfigTexts(const std::vector<NamedDocument>& documents,
                           const LoadOptions& options) {
  const std::string first = documents.empty() ? "" : documents.front().name;
  try {
    Loader loader(options);
    for (const auto& doc : documents) {
      loader.loadTop(doc.text, doc.name, ".", "");
    }
    return loader.finish();
  } catch (const std::exception& e) {
    return internalError(first, e.what());
  } catch (...) {
    return internalError(first, "unknown exception");
  }
}

LoadResult loadConfigFile(const std::string& path, const LoadOptions& options) {
  try {
    std::string text;
    if (const auto err = readWholeFile(path, text)) {
      LoadResult result;
      result.errors.push_back({path, 0, 0, "cannot read file: " + *err});
      result.unreadable = true;
      return result;
    }
    Loader loader(options);
    loader.loadTop(text, path, dirName(path), canonicalPath(path).value_or(""));
    return loader.finish();
  } catch (const std::exception& e) {
    return internalError(path, e.what());
  } catch (...) {
    return internalError(path, "unknown exception");
  }
}

}  // namespace ballast::config
