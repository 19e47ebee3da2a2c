// src/metrics/prometheus_writer.cpp — text exposition: escaping and number formatting.
#include "metrics/prometheus_writer.h"

#include <array>
#include <charconv>
#include <cmath>

namespace ballast::metrics {
namespace {

void appendEscaped(std::string& out, std::string_view text, bool quote_too) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote_too) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

void PrometheusWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  appendEscaped(out_, help, /*quote_too=*/false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PrometheusWriter::writeLabels(std::span<const Label> labels) {
  if (labels.empty()) {
    return;
  }
  out_ += '{';
  bool first = true;
  for (const auto& l : labels) {
    if (!first) {
      out_ += ',';
    }
    first = false;
    out_ += l.name;
    out_ += "=\"";
    appendEscaped(out_, l.value, /*quote_too=*/true);
    out_ += '"';
  }
  out_ += '}';
}

void PrometheusWriter::sample(std::string_view name, std::span<const Label> labels, double value) {
  out_ += name;
  writeLabels(labels);
  out_ += ' ';
  if (std::isnan(value)) {
    out_ += "NaN";
  } else if (std::isinf(value)) {
    out_ += value > 0 ? "+Inf" : "-Inf";
  } else {
    // Shortest text that reads back as the same double.
    std::array<char, 32> buf{};
    const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    out_.append(buf.data(), res.ptr);
  }
  out_ += '\n';
}

void PrometheusWriter::sampleInt(std::string_view name, std::span<const Label> labels,
                                 uint64_t value) {
  out_ += name;
  writeLabels(labels);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

}  // namespace ballast::metrics
