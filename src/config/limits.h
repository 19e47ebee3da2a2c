// src/config/limits.h — the bounds the loader accepts for each setting, and the defaults of the
// control plane's servers (the rest live in config_types.h); the system limits (RLIMIT_NOFILE,
// CPUs) are checked at startup instead.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ballast::config {

constexpr uint32_t kMaxWorkers = 1024;
constexpr uint32_t kMaxConnectRetries = 10;
// HTTP `retries:`: tries per request in all (the exchange keeps that many backend indices), the
// largest request body kept for a retry (per request in flight), the longest backoff.
constexpr uint32_t kMaxRetryAttempts = 4;
constexpr uint64_t kMaxRetryBufferBytes = 1024 * 1024;
constexpr uint32_t kMaxRetryMinConcurrency = 100000;
// `outlier_detection:`: beyond these a typo is likelier than intent.
constexpr uint32_t kMaxOutlierConsecutive = 1000;
constexpr uint32_t kMaxOutlierHosts = 10000;
constexpr uint32_t kMaxOutlierRequests = 1000000;
constexpr double kMinOutlierStdevFactor = 0.1;
constexpr double kMaxOutlierStdevFactor = 10.0;
// `circuit_breaker:`: counts beyond these are typos (RLIMIT_NOFILE bounds connections anyway);
// a failure threshold past a thousand never opens in practice.
constexpr uint32_t kMaxCircuitLimit = 16 * 1024 * 1024;
constexpr uint32_t kMaxFailureThreshold = 1000;
constexpr uint32_t kMaxHalfOpenRequests = 1000;
// HTTP upstream keep-alive per backend per worker; beyond these a typo is likelier than intent.
constexpr uint32_t kMaxKeepaliveIdle = 10000;
constexpr uint32_t kMaxKeepaliveRequests = 1000000;
// Beyond these a typo is likelier than intent; RLIMIT_NOFILE is the real ceiling.
constexpr uint32_t kMaxListenerConnections = 16 * 1024 * 1024;
constexpr uint32_t kMaxListenerFlows = 16 * 1024 * 1024;
constexpr uint64_t kMinBufferBytes = 1024;
constexpr uint64_t kMaxBufferBytes = uint64_t{64} * 1024 * 1024;
// Rise/fall counts: a thousand probes is already hours at common intervals.
constexpr uint32_t kMaxHealthCheckCount = 1000;
// Past one half an interval could shrink to nearly zero and probes would bunch up.
constexpr double kMaxHealthCheckJitter = 0.5;
// Names end up in metric labels and log lines, so they stay short and plain.
constexpr size_t kMaxNameLength = 64;

// HTTP listeners. The request line is part of the head, so it cannot usefully exceed
// max_header_bytes; RFC 9112 §3 asks for at least 8000 octets of request line, and below 256
// even an ordinary URL with a query would not fit.
constexpr uint64_t kMinHttpRequestLineBytes = 256;
constexpr uint64_t kMaxHttpRequestLineBytes = uint64_t{64} * 1024;
// A head is also what the parser copies when it arrives split, so this bounds memory per
// connection.
constexpr uint64_t kMinHttpHeaderBytes = 1024;
constexpr uint64_t kMaxHttpHeaderBytes = uint64_t{1024} * 1024;
constexpr uint32_t kMaxHttpHeaders = 1000;
// Bodies stream, so size costs no memory; 0 (unlimited) is the way to say "no limit", and past
// a tebibyte a typo is likelier than intent.
constexpr uint64_t kMaxHttpBodyBytes = uint64_t{1024} * 1024 * 1024 * 1024;
// Routes are scanned in order per request, so a long list is a latency cost, not just memory.
constexpr size_t kMaxRoutesPerListener = 1000;
// A DNS name is at most 253 characters (RFC 1035 §2.3.4, without the trailing dot).
constexpr size_t kMaxRouteHostLength = 253;
// A path longer than the longest request line we accept could never match.
constexpr size_t kMaxRoutePathLength = kMaxHttpRequestLineBytes;
// Header and query conditions are checked against every header or parameter of a request, so
// like routes they are bounded for latency; real routes carry a handful.
constexpr size_t kMaxRouteConditions = 32;
// Edits in one `request_headers:` or `response_headers:` (remove, set and add together); each
// one is work on every proxied message.
constexpr size_t kMaxHeaderEdits = 64;

// Control plane servers (admin API, /metrics): defaults. Admin traffic is a person or a
// scraper, never bulk, so every slot a stranger holds is one an operator lacks (#21).
// TCP admin connections together; an SSE stream does not count here.
constexpr uint32_t kDefaultAdminMaxConnections = 64;
// One TCP source address: a single host fills at most an eighth of the admin slots.
constexpr uint32_t kDefaultAdminMaxConnectionsPerPeer = 8;
// Slots only the unix socket uses, so a local operator always gets in whatever TCP peers do.
constexpr uint32_t kDefaultAdminUnixConnections = 16;
// Open event streams (SSE), both sockets together; each may buffer kMaxAdminBacklogBytes.
constexpr uint32_t kDefaultAdminMaxEventStreams = 16;
// /metrics: a scraper or two keep one connection each; the rest is headroom.
constexpr uint32_t kDefaultMetricsMaxConnections = 32;
constexpr uint32_t kDefaultMetricsMaxConnectionsPerPeer = 8;
// The whole request head (and an admin body, at most 1 MiB) must arrive within this; the same
// default as a listener's timeouts.header.
constexpr uint32_t kDefaultControlHeaderTimeoutMs = 10'000;
// Between requests on a kept-alive connection (from the response being queued); bytes of a
// request that never completes do not extend it.
constexpr uint32_t kDefaultControlIdleTimeoutMs = 60'000;
// TLS handshake on the TCP admin API, from accept.
constexpr uint32_t kDefaultAdminHandshakeTimeoutMs = 10'000;
// Beyond these a typo is likelier than intent; RLIMIT_NOFILE is the real ceiling.
constexpr uint64_t kMaxControlConnections = 100'000;
// logging.repeat_*: lines per event kind per interval for events a peer can cause at will;
// the same as core::kLogRepeatBurst / kLogRepeatIntervalMs (checked where both are seen).
constexpr uint32_t kDefaultLogRepeatBurst = 5;
constexpr uint32_t kDefaultLogRepeatIntervalMs = 10'000;
constexpr uint64_t kMaxLogRepeatBurst = 1'000'000;
// tls_passthrough: server names are looked up in hash tables, so their number costs memory
// (at most 253 bytes each), not latency; past this a generated file has likely gone wrong.
constexpr size_t kMaxSniNamesPerListener = 100000;

// Guards against hostile or runaway input (the fuzzer, a generated file gone wrong).
constexpr size_t kMaxConfigFileBytes = size_t{16} * 1024 * 1024;
constexpr size_t kMaxIncludeDepth = 8;
constexpr size_t kMaxIncludedFiles = 256;
// YAML aliases let a small file name a node many times; every visit counts.
constexpr size_t kMaxVisitedNodes = size_t{1000} * 1000;
constexpr size_t kMaxErrors = 100;

// A DNS name is at most 253 characters in text (RFC 1035's 255 octets on the wire).
constexpr size_t kMaxDnsNameLength = 253;
constexpr size_t kMaxPortDigits = 5;

}  // namespace ballast::config
