// src/config/content_sections.h — reading the content rules of routes and listeners:
// `redirect:`, `rewrite:`, `respond:`, `error_pages:` and `cors:` (config/content_types.h).
// Templates and regexes are checked here, so a request never meets a bad one.
#pragma once

#include "config/config_types.h"
#include "config/yaml_reader.h"

namespace ballast::config {

void readRouteRedirect(FileReader& file, const Field& field, RouteRedirect& redirect);
void readPathRewrite(FileReader& file, const Field& field, PathRewrite& rewrite);
void readDirectResponse(FileReader& file, const Field& field, DirectResponse& respond);
void readErrorPages(FileReader& file, const Field& field, ErrorPages& pages);
// `cors: off` on a route turns the listener's off there.
void readCors(FileReader& file, const Field& field, CorsPolicy& cors);
// `compress: on` takes the defaults; `compress: off` on a route turns the listener's off there.
void readCompress(FileReader& file, const Field& field, CompressPolicy& compress);
// `cache: on` takes the defaults; `cache: off` on a route turns the listener's off there.
void readCache(FileReader& file, const Field& field, CachePolicy& cache);

}  // namespace ballast::config
