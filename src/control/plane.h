// src/control/plane.h — what the control thread needs from the kernel and uplink planes. Both
// run on the control thread's event loop (epoll, edge-triggered watches: drain a watched fd
// until EAGAIN), beside the admin API and the proxy plane's health checks; nothing here is on
// a packet's path.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "config/config_types.h"
#include "control/audit_log.h"
#include "core/event_loop.h"
#include "metrics/prometheus_writer.h"

namespace ballast::control {

struct PlaneContext {
  core::EventLoop& loop;
  AuditLog& audit;
};

class Plane {
 public:
  Plane() = default;
  virtual ~Plane() = default;
  Plane(const Plane&) = delete;
  Plane& operator=(const Plane&) = delete;

  virtual std::string_view name() const = 0;
  // At start-up and after every accepted reload. Returning false at start-up stops the process
  // (error says why); after a reload the plane keeps what it had and the error is logged.
  virtual bool apply(const config::ConfigPtr& config, std::string* error) = 0;
  // Graceful stop (SIGTERM): leave the host as the plane's config says it should be left.
  virtual void stop() = 0;
  // Appends this plane's metric families (ballast_kernel_…, ballast_uplink_…) to a scrape.
  virtual void writeMetrics(metrics::PrometheusWriter& out) const = 0;
  // What `ballast show services|uplinks` and the admin API print.
  virtual nlohmann::json status() const = 0;
};

}  // namespace ballast::control
