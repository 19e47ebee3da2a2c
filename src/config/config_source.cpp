// src/config/config_source.cpp — the bootstrap file's config_source section, and checks on
// the documents an etcd prefix holds before the loader joins them.
#include "config/config_source.h"

#include <array>
#include <map>

#include "config/file_text.h"
#include "config/yaml_document.h"
#include "config/yaml_reader.h"

namespace ballast::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kSourceKeys = {"etcd"sv};
constexpr std::array kEtcdKeys = {"endpoints"sv, "prefix"sv, "tls"sv};
constexpr std::array kTlsKeys = {"ca"sv, "cert"sv, "key"sv};

bool isEndpoint(const std::string& url) {
  const auto rest = [&url](std::string_view scheme) {
    return url.starts_with(scheme) && url.size() > scheme.size();
  };
  return rest("http://") || rest("https://");
}

void readEtcd(FileReader& file, const Field& field, EtcdSourceSettings& out) {
  const MapReader etcd(file, field, "config_source.etcd", kEtcdKeys);
  if (!etcd.ok()) {
    return;
  }
  if (const Field* f = etcd.require(file, "endpoints")) {
    for (const auto& item : listItems(file, *f, "endpoint")) {
      const auto url = readScalar(file, item, "an http:// or https:// URL");
      if (url && isEndpoint(*url)) {
        out.endpoints.push_back(*url);
      } else if (url) {
        reportExpected(file, item, "an http:// or https:// URL", quote(*url));
      }
    }
    if (f->value.IsNull() || (f->value.IsSequence() && f->value.size() == 0)) {
      file.error(f->valueMark(), "config_source.etcd.endpoints: needs at least one URL");
    }
  }
  if (const Field* f = etcd.require(file, "prefix")) {
    const auto prefix = readScalar(file, *f, "a key prefix such as /ballast/prod/");
    if (prefix && !prefix->empty()) {
      out.prefix = *prefix;
    } else if (prefix) {
      reportExpected(file, *f, "a key prefix such as /ballast/prod/", "\"\"");
    }
  }
  if (const Field* f = etcd.find("tls")) {
    const MapReader tls(file, *f, "config_source.etcd.tls", kTlsKeys);
    if (const Field* ca = tls.find("ca")) {
      assign(out.ca, readFilePath(file, *ca, false));
    }
    const Field* cert = tls.find("cert");
    const Field* key = tls.find("key");
    if (cert) {
      assign(out.cert, readFilePath(file, *cert, false));
    }
    if (key) {
      assign(out.key, readFilePath(file, *key, false));
    }
    if ((cert == nullptr) != (key == nullptr)) {
      file.error(f->key_mark, "config_source.etcd.tls: cert and key go together");
    }
  }
}

// The top-level section names of one document, with where each is; nothing when the document
// does not parse (the loader reports that at its position).
std::vector<std::pair<std::string, YAML::Mark>> sectionsOf(std::string_view text) {
  std::vector<std::pair<std::string, YAML::Mark>> out;
  try {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap()) {
      return out;
    }
    for (const auto& kv : root) {
      if (kv.first.IsScalar()) {
        out.emplace_back(kv.first.Scalar(), kv.first.Mark());
      }
    }
  } catch (const std::exception&) {
    out.clear();
  }
  return out;
}

}  // namespace

ConfigSourceRead readConfigSourceText(std::string_view yaml, const std::string& filename) {
  ConfigSourceRead result;
  // Most bootstraps name no config_source, and parsing a large one twice (here, then in the
  // loader) was a third of the daemon's start-up at 1,000 virtual services. A key can spell
  // the name without the text holding it only through a double-quoted escape
  // ("config\x5fsource"), so text with neither the name nor a backslash has no such key.
  if (yaml.find("config_source") == std::string_view::npos &&
      yaml.find('\\') == std::string_view::npos) {
    return result;
  }
  Diagnostics diagnostics;
  try {
    FileReader file(filename, diagnostics);
    const auto root = parseDocument(file, yaml);
    if (!root || !root->IsMap()) {
      return result;  // the loader reads (and reports on) it
    }
    for (const auto& kv : *root) {
      if (!kv.first.IsScalar() || kv.first.Scalar() != "config_source") {
        continue;  // the bootstrap's node-local sections: the loader reads them
      }
      const Field field{"config_source", kv.second, kv.first.Mark()};
      const MapReader source(file, field, "config_source", kSourceKeys);
      EtcdSourceSettings etcd;
      if (const Field* e = source.require(file, "etcd")) {
        readEtcd(file, *e, etcd);
      }
      result.etcd = std::move(etcd);
    }
  } catch (const std::exception& e) {
    diagnostics.add({filename, 0, 0}, std::string("invalid YAML: ") + e.what());
  }
  result.errors = diagnostics.take();
  return result;
}

ConfigSourceRead readConfigSource(const std::string& path) {
  std::string text;
  if (const auto err = readWholeFile(path, text)) {
    ConfigSourceRead result;
    result.errors.push_back({path, 0, 0, "cannot read file: " + *err});
    result.unreadable = true;
    return result;
  }
  return readConfigSourceText(text, path);
}

LoadResult loadConfigDocuments(const std::vector<NamedDocument>& documents) {
  LoadResult result;
  if (documents.empty()) {
    result.errors.push_back({"etcd", 0, 0, "no key under the prefix holds a document"});
    return result;
  }
  // Two documents setting one section would merge in ways nobody reviews in a diff of one
  // key; refuse it and name both keys.
  std::map<std::string, std::string> owner;
  std::vector<ConfigError> clashes;
  for (size_t i = 0; i < documents.size(); ++i) {
    const auto& doc = documents[i];
    for (const auto& [section, mark] : sectionsOf(doc.text)) {
      if (section == "config_source" && i > 0) {
        clashes.push_back({doc.name, mark.line + 1, mark.column + 1,
                           "config_source belongs in the bootstrap file only"});
        continue;
      }
      const auto [it, fresh] = owner.emplace(section, doc.name);
      if (!fresh) {
        clashes.push_back({doc.name, mark.line + 1, mark.column + 1,
                           "section \"" + section + "\" is also set by " + it->second});
      }
    }
  }
  result = loadConfigTexts(documents, LoadOptions{.follow_includes = false});
  if (!clashes.empty()) {
    result.config.reset();
    result.errors.insert(result.errors.begin(), clashes.begin(), clashes.end());
  }
  return result;
}

}  // namespace ballast::config
