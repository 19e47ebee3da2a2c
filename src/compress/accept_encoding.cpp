// src/compress/accept_encoding.cpp — parsing Accept-Encoding with q-values.
#include "compress/accept_encoding.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace ballast::compress {
namespace {

constexpr int kQScale = 1000;   // q-values have at most 3 decimals
constexpr size_t kCodings = 4;  // Encoding's values, kNone included

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool equalsLower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != lower[i]) {
      return false;
    }
  }
  return true;
}

// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
std::optional<int> parseQ(std::string_view v) {
  if (v.empty() || (v[0] != '0' && v[0] != '1')) {
    return std::nullopt;
  }
  int q = (v[0] - '0') * kQScale;
  if (v.size() == 1) {
    return q;
  }
  if (v[1] != '.' || v.size() > 5) {
    return std::nullopt;
  }
  int scale = kQScale / 10;
  for (size_t i = 2; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') {
      return std::nullopt;
    }
    q += (v[i] - '0') * scale;
    scale /= 10;
  }
  return q <= kQScale ? std::optional<int>(q) : std::nullopt;
}

// One element "coding;q=0.5;other=x": the coding and its q (1 when absent); nullopt when bad.
std::optional<std::pair<std::string_view, int>> parseElement(std::string_view element) {
  const size_t semi = element.find(';');
  const std::string_view coding = trim(element.substr(0, semi));
  if (coding.empty()) {
    return std::nullopt;
  }
  int q = kQScale;
  std::string_view params = semi == std::string_view::npos ? "" : element.substr(semi + 1);
  while (!params.empty()) {
    const size_t next = params.find(';');
    const std::string_view param = trim(params.substr(0, next));
    params = next == std::string_view::npos ? "" : params.substr(next + 1);
    const size_t eq = param.find('=');
    if (eq != std::string_view::npos && equalsLower(trim(param.substr(0, eq)), "q")) {
      const auto parsed = parseQ(trim(param.substr(eq + 1)));
      if (!parsed) {
        return std::nullopt;
      }
      q = *parsed;
    }
  }
  return std::pair{coding, q};
}

}  // namespace

Encoding chooseEncoding(std::span<const std::string_view> fields,
                        std::span<const Encoding> offered) {
  // q per coding as the client named it (-1: not named), and the wildcard's.
  std::array<int, kCodings> named{-1, -1, -1, -1};
  int wildcard = -1;
  for (std::string_view field : fields) {
    while (!field.empty()) {
      const size_t comma = field.find(',');
      const std::string_view element = field.substr(0, comma);
      field = comma == std::string_view::npos ? "" : field.substr(comma + 1);
      const auto parsed = parseElement(element);
      if (!parsed) {
        continue;
      }
      const auto [coding, q] = *parsed;
      if (coding == "*") {
        wildcard = q;
        continue;
      }
      for (const Encoding e : {Encoding::kGzip, Encoding::kZstd, Encoding::kBrotli}) {
        if (equalsLower(coding, encodingName(e)) ||
            (e == Encoding::kGzip && equalsLower(coding, "x-gzip"))) {
          named[static_cast<size_t>(e)] = q;
        }
      }
    }
  }
  Encoding best = Encoding::kNone;
  int best_q = 0;
  for (const Encoding e : offered) {
    const int named_q = named[static_cast<size_t>(e)];
    const int q = named_q >= 0 ? named_q : std::max(wildcard, 0);
    if (q > best_q) {
      best = e;
      best_q = q;
    }
  }
  return best;
}

}  // namespace ballast::compress
