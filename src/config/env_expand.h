// src/config/env_expand.h — ${VAR} and ${VAR:-default} substitution in config scalars.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ballast::config {

// Returns the variable's value, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

struct ExpandResult {
  std::string text;
  std::string error;  // empty on success; otherwise says what is wrong, without position
  bool ok() const { return error.empty(); }
};

// "${VAR}" is VAR's value and an error when VAR is unset; "${VAR:-default}" falls back to
// default when VAR is unset or empty, as in sh. "$${" is a literal "${". Names are
// [A-Za-z_][A-Za-z0-9_]*. Defaults are taken literally: no nesting.
// An empty lookup reads the process environment.
ExpandResult expandEnv(std::string_view text, const EnvLookup& lookup = {});

}  // namespace ballast::config
