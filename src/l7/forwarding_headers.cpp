// src/l7/forwarding_headers.cpp — building forwarded fields and applying route header edits.
#include "l7/forwarding_headers.h"

#include <algorithm>

#include "proto/http1/syntax.h"

namespace ballast::l7 {
namespace {

namespace h1 = proto::http1;

bool named(const h1::Header& h, std::string_view name) {
  return h1::equalsIgnoreCase(h.name, name);
}

// remove, then set (replacing every field of that name), then add: the order HAProxy's
// http-request del-header/set-header/add-header and NGINX's proxy_set_header users expect.
void applyOps(const config::HeaderOps* ops, std::vector<h1::Header>& fields) {
  if (ops == nullptr || ops->empty()) {
    return;
  }
  std::erase_if(fields, [ops](const h1::Header& h) {
    for (const auto& r : ops->remove) {
      if (named(h, r)) {
        return true;
      }
    }
    for (const auto& [name, value] : ops->set) {
      if (named(h, name)) {
        return true;
      }
    }
    return false;
  });
  for (const auto& [name, value] : ops->set) {
    fields.push_back({name, value});
  }
  for (const auto& [name, value] : ops->add) {
    fields.push_back({name, value});
  }
  for (const auto& field : ops->defaults) {
    const std::string& name = field.first;
    if (std::none_of(fields.begin(), fields.end(),
                     [&name](const h1::Header& h) { return named(h, name); })) {
      fields.push_back({name, field.second});
    }
  }
}

}  // namespace

bool isForwardingField(std::string_view name) {
  return h1::equalsIgnoreCase(name, "x-forwarded-for") ||
         h1::equalsIgnoreCase(name, "x-forwarded-proto") ||
         h1::equalsIgnoreCase(name, "x-forwarded-host") ||
         h1::equalsIgnoreCase(name, "x-real-ip") || h1::equalsIgnoreCase(name, "forwarded");
}

void buildRequestFields(std::span<const h1::Header> in, const ForwardingContext& ctx,
                        const config::HeaderOps* ops, ForwardingStorage& storage,
                        std::vector<h1::Header>& out) {
  out.clear();
  storage.xff.clear();
  storage.forwarded.clear();
  bool have_proto = false;
  bool have_host = false;
  bool have_real_ip = false;
  for (const auto& h : in) {
    if (named(h, "x-request-id")) {
      continue;  // ours is ctx.request_id (the client's when it was well formed)
    }
    if (ctx.client_auth != nullptr && (named(h, ctx.client_auth->subject_header) ||
                                       named(h, ctx.client_auth->fingerprint_header))) {
      continue;  // only we may state who the client certificate names, even behind a proxy
    }
    if (std::any_of(ctx.drop_fields.begin(), ctx.drop_fields.end(),
                    [&h](std::string_view name) { return named(h, name); })) {
      continue;  // only a filter may state these (verified token claims)
    }
    if (isForwardingField(h.name)) {
      if (!ctx.trusted_peer) {
        continue;  // anyone could have written these
      }
      if (named(h, "x-forwarded-for")) {
        if (!storage.xff.empty()) {
          storage.xff += ", ";
        }
        storage.xff += h.value;  // several fields are one list (RFC 9110 §5.3)
        continue;
      }
      if (named(h, "forwarded")) {
        if (!storage.forwarded.empty()) {
          storage.forwarded += ", ";
        }
        storage.forwarded += h.value;
        continue;
      }
      have_proto = have_proto || named(h, "x-forwarded-proto");
      have_host = have_host || named(h, "x-forwarded-host");
      have_real_ip = have_real_ip || named(h, "x-real-ip");
    }
    out.push_back(h);
  }
  if (!storage.xff.empty()) {
    storage.xff += ", ";
  }
  storage.xff += ctx.client_ip;
  out.push_back({"X-Forwarded-For", storage.xff});
  if (!have_real_ip) {
    // Behind a trusted proxy the client is the first address it reported; else our peer.
    const std::string_view xff = storage.xff;
    const size_t comma = xff.find(',');
    out.push_back({"X-Real-IP", comma == std::string_view::npos ? xff : xff.substr(0, comma)});
  }
  if (!have_proto) {
    out.push_back({"X-Forwarded-Proto", ctx.tls ? "https" : "http"});
  }
  if (!have_host && !ctx.host.empty()) {
    out.push_back({"X-Forwarded-Host", ctx.host});
  }
  if (ctx.rfc7239) {
    if (!storage.forwarded.empty()) {
      storage.forwarded += ", ";
    }
    storage.forwarded += ctx.client_v6 ? "for=\"[" : "for=";
    storage.forwarded += ctx.client_ip;
    storage.forwarded += ctx.client_v6 ? "]\";proto=" : ";proto=";
    storage.forwarded += ctx.tls ? "https" : "http";
    if (!ctx.host.empty()) {
      storage.forwarded += ";host=\"";
      storage.forwarded += ctx.host;
      storage.forwarded += '"';
    }
    out.push_back({"Forwarded", storage.forwarded});
  }
  if (ctx.client_auth != nullptr && !ctx.client_fingerprint.empty()) {
    out.push_back({ctx.client_auth->subject_header, ctx.client_subject});
    out.push_back({ctx.client_auth->fingerprint_header, ctx.client_fingerprint});
  }
  out.push_back({"X-Request-Id", ctx.request_id});
  out.push_back({"Via", ctx.version_minor == 0 ? "1.0 ballast" : "1.1 ballast"});
  applyOps(ops, out);
  if (!ctx.drop_fields.empty()) {
    std::erase_if(out, [&ctx](const h1::Header& h) {
      return std::any_of(ctx.drop_fields.begin(), ctx.drop_fields.end(),
                         [&h](std::string_view name) { return named(h, name); });
    });
  }
  for (const auto& [name, value] : ctx.add_fields) {
    out.push_back({name, value});
  }
}

void buildResponseFields(std::span<const h1::Header> in, const config::HeaderOps* ops,
                         std::vector<h1::Header>& out) {
  out.assign(in.begin(), in.end());
  applyOps(ops, out);
}

}  // namespace ballast::l7
