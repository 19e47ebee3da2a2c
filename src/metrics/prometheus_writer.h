// src/metrics/prometheus_writer.h — builds one scrape in the Prometheus text exposition format
// (version 0.0.4): a HELP and TYPE line per family, then its samples with escaped labels.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace ballast::metrics {

struct Label {
  std::string_view name;
  std::string_view value;
};

class PrometheusWriter {
 public:
  // Starts a family; call once per name per scrape, before its samples. type: counter, gauge,
  // histogram. Counter names end in _total (the caller's job: names are literals).
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value) {
    sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
  }
  void sample(std::string_view name, std::span<const Label> labels, double value);
  // Integers are written exactly (a double would round counters past 2^53).
  void sampleInt(std::string_view name, std::initializer_list<Label> labels, uint64_t value) {
    sampleInt(name, std::span<const Label>(labels.begin(), labels.size()), value);
  }
  void sampleInt(std::string_view name, std::span<const Label> labels, uint64_t value);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void writeLabels(std::span<const Label> labels);
  std::string out_;
};

}  // namespace ballast::metrics
