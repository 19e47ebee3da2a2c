// src/config/yaml_document.cpp — YAML text to one node tree, safely.
//
// yaml-cpp 0.7's LoadAll() loops forever, allocating, on some invalid input such as a lone
// "," (jbeder/yaml-cpp#1040, fixed upstream in #1319 after 0.7): the parser reports a new
// document without consuming anything. So documents are first counted with a bounded
// event-only pass that notices when the parser stops moving, and only then is the first
// document built with Load(), which reads exactly one.
#include "config/yaml_document.h"

#include <yaml-cpp/eventhandler.h>

#include <sstream>
#include <string>
#include <vector>

namespace ballast::config {
namespace {

// Enough to tell "one document", "several" and "stuck" apart.
constexpr size_t kMaxDocumentsScanned = 3;

// Records where each document starts and ignores the rest of the events.
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { marks_.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnAlias(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnScalar(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                const std::string& /*value*/) override {}
  void OnSequenceStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {}
  void OnMapEnd() override {}

  const std::vector<YAML::Mark>& marks() const { return marks_; }

 private:
  std::vector<YAML::Mark> marks_;
};

}  // namespace

std::optional<YAML::Node> parseDocument(FileReader& file, std::string_view text) {
  const std::string copy(text);
  try {
    std::istringstream stream(copy);
    YAML::Parser parser(stream);
    DocumentStarts starts;
    while (starts.marks().size() < kMaxDocumentsScanned && parser.HandleNextDocument(starts)) {
      const auto& marks = starts.marks();
      if (marks.size() >= 2 && marks[marks.size() - 1].pos == marks[marks.size() - 2].pos) {
        file.error(marks.back(), "invalid YAML: unexpected content");
        return std::nullopt;
      }
    }
    if (starts.marks().size() > 1) {
      file.error(starts.marks()[1], "expected one YAML document, found more (remove the \"---\")");
      return std::nullopt;
    }
    return YAML::Load(copy);
  } catch (const YAML::Exception& e) {
    file.error(e.mark, "invalid YAML: " + e.msg);
    return std::nullopt;
  }
}

}  // namespace ballast::config
