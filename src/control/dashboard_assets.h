// src/control/dashboard_assets.h — the web dashboard's files (page, script, style), built into
// the binary and served by the admin listener. The page holds no data: its script calls the
// admin API with the operator's token, so the assets themselves need no auth.
#pragma once

#include <optional>
#include <string_view>

namespace ballast::control {

struct DashboardAsset {
  std::string_view path;  // URL path: "/", "/ui/app.js", "/ui/style.css"
  std::string_view content_type;
  std::string_view body;
};

// The asset served at `path`, or nullopt when `path` is not one of the dashboard's.
std::optional<DashboardAsset> dashboardAsset(std::string_view path);

// Sent with every asset: the page may load only its own script and style and talk only to its
// own origin, so even a record that slipped markup into the audit stream could not run.
inline constexpr std::string_view kDashboardContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

}  // namespace ballast::control
