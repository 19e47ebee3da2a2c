// src/cli/table.h — aligned text columns for the CLI's tables.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace ballast::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(FILE* out = stdout) const {
    std::vector<size_t> widths;
    for (const auto& r : rows_) {
      widths.resize(std::max(widths.size(), r.size()));
      for (size_t i = 0; i < r.size(); ++i) {
        widths[i] = std::max(widths[i], r[i].size());
      }
    }
    for (const auto& r : rows_) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        line += r[i];
        if (i + 1 < r.size()) {
          line.append(widths[i] - r[i].size() + 2, ' ');
        }
      }
      std::fprintf(out, "%s\n", line.c_str());
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ballast::cli
