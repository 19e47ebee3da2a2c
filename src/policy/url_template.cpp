// src/policy/url_template.cpp — checking and expanding redirect and rewrite templates.
#include "policy/url_template.h"

#include <array>

namespace ballast::policy {
namespace {

enum class Var { kScheme, kHost, kPath, kQuery, kRequestUri };

struct NamedVar {
  std::string_view name;
  Var var;
};

// Longest first, so `$request_uri` is not read as an unknown `$request`.
constexpr std::array kVars = {NamedVar{"request_uri", Var::kRequestUri},
                              NamedVar{"scheme", Var::kScheme}, NamedVar{"query", Var::kQuery},
                              NamedVar{"host", Var::kHost}, NamedVar{"path", Var::kPath}};

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The variable name at `rest` (after the '$'): letters, digits and '_', as NGINX reads them.
// (No `${name}` form: the config's environment expansion owns `${…}`.)
std::string_view nameAt(std::string_view rest, size_t& consumed) {
  size_t n = 0;
  if (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
    n = 1;  // $1 is one digit: "$10" is capture 1 then '0'
  } else {
    while (n < rest.size() && isNameChar(rest[n])) {
      ++n;
    }
  }
  consumed = n;
  return rest.substr(0, n);
}

std::optional<Var> varNamed(std::string_view name) {
  for (const auto& v : kVars) {
    if (v.name == name) {
      return v.var;
    }
  }
  return std::nullopt;
}

int captureNumber(std::string_view name) {
  if (name.size() == 1 && name[0] >= '1' && name[0] <= '9') {
    return name[0] - '0';
  }
  return 0;
}

}  // namespace

std::optional<std::string> checkTemplate(std::string_view text, int max_capture) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x21 || c == 0x7f) {
      return "a template has no spaces or control characters";
    }
    if (text[i] != '$') {
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      ++i;
      continue;
    }
    size_t consumed = 0;
    const std::string_view name = nameAt(text.substr(i + 1), consumed);
    if (name.empty()) {
      return "'$' at offset " + std::to_string(i) +
             " names no variable (write $$ for a dollar sign)";
    }
    if (const int n = captureNumber(name); n > 0) {
      if (n > max_capture) {
        return max_capture == 0 ? "$" + std::string(name) + " needs a regex with captures"
                                : "$" + std::string(name) + ": the regex has only " +
                                      std::to_string(max_capture) + " capture group(s)";
      }
    } else if (!varNamed(name)) {
      return "unknown variable $" + std::string(name) +
             " (known: $scheme, $host, $path, $query, $request_uri, $1…$9)";
    }
    i += consumed;
  }
  return std::nullopt;
}

void expandTemplate(std::string_view text, const TemplateValues& values, std::string& out) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    size_t consumed = 0;
    const std::string_view name = nameAt(text.substr(i + 1), consumed);
    i += consumed;
    if (const int n = captureNumber(name); n > 0) {
      if (static_cast<size_t>(n) <= values.captures.size()) {
        out.append(values.captures[static_cast<size_t>(n - 1)]);
      }
      continue;
    }
    switch (varNamed(name).value_or(Var::kPath)) {
      case Var::kScheme:
        out.append(values.scheme);
        break;
      case Var::kHost:
        out.append(values.host);
        break;
      case Var::kPath:
        out.append(values.path);
        break;
      case Var::kQuery:
        out.append(values.query);
        break;
      case Var::kRequestUri:
        out.append(values.path);
        if (!values.query.empty()) {
          out.push_back('?');
          out.append(values.query);
        }
        break;
    }
  }
}

}  // namespace ballast::policy
