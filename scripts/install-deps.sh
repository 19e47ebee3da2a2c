#!/usr/bin/env bash
# scripts/install-deps.sh — installs every build, test and bench dependency from Debian
# packages. Idempotent: packages already present are skipped, so a warm machine pays ~1 s.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config clang clang-format clang-tidy
  libclang-rt-14-dev
  # libraries
  liburing-dev libyaml-cpp-dev nlohmann-json3-dev libxxhash-dev libre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libmnl-dev libnftables-dev libjwt-dev libsystemd-dev libedit-dev libssl-dev libcurl4-openssl-dev
  libnghttp2-dev libc-ares-dev libcrypt-dev zlib1g-dev libzstd-dev libbrotli-dev libhiredis-dev
  # tests and benchmarks: real peers
  python3 curl iproute2 procps psmisc haproxy nginx libnginx-mod-stream wrk
  nghttp2-client python3-h2 python3-grpcio apache2-utils brotli zstd
  nftables ipvsadm keepalived prometheus tmux openssl chromium pebble testssl.sh
  # the official client reads the fake API server's EndpointSlices (test_discovery_kubernetes.py)
  python3-kubernetes
  # BGP announcement (tests/integration/test_bgp_ecmp.py): ballast runs BIRD 2 per node
  bird2
  # ... or FRR's bgpd (test_bgp_ecmp_frr.py); its own service is disabled below
  frr
  # the protocol health checks' real servers (tests/integration/test_health_checks.py)
  postgresql mariadb-server redis-server redis-tools dnsmasq
  # configuration from etcd (tests/integration/test_config_etcd.py): the test runs its own etcd
  etcd-server
  # make test-ipvs: Debian's kernel (with ip_vs) under qemu, a busybox initramfs
  qemu-system-x86 linux-image-amd64 busybox-static cpio kmod xz-utils
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
fi
if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's haproxy/nginx packages try to start their services; tests start their own.
  $SUDO apt-get update -q || true
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian's frr enables a system FRR (zebra, bgpd...); ballast runs its own bgpd per node.
if command -v systemctl >/dev/null && systemctl is-enabled frr >/dev/null 2>&1; then
  $SUDO systemctl disable --now frr >/dev/null 2>&1 || true
fi
# Debian's etcd-server enables a system etcd on 127.0.0.1:2379; tests start their own on free
# ports, and a node's config must never come from a stray local one.
if command -v systemctl >/dev/null && systemctl is-enabled etcd >/dev/null 2>&1; then
  $SUDO systemctl disable --now etcd >/dev/null 2>&1 || true
fi

# The dashboard's browser test drives Debian's Chromium with playwright-core (the version pinned
# in tests/browser/package-lock.json; it never downloads a browser). Without npm the test skips.
root=$(cd "$(dirname "$0")/.." && pwd)
if command -v npm >/dev/null && [[ ! -d "$root/tests/browser/node_modules/playwright-core" ]]; then
  npm ci --prefix "$root/tests/browser" --no-audit --no-fund --loglevel=error ||
    echo "install-deps: npm ci failed; the dashboard browser test will be skipped" >&2
fi
