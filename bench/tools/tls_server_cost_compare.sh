#!/bin/sh
# bench/tools/tls_server_cost_compare.sh — server cost per TLS 1.3 handshake, OpenSSL 3.0 against
# Debian's Android BoringSSL, with the same ECDSA P-256 certificate (made here, in a temp dir).
#   bench/tools/tls_server_cost_compare.sh BUILD_DIR [tool options]     CPU, runs interleaved
#   CALLGRIND=1 bench/tools/tls_server_cost_compare.sh BUILD_DIR [...]   instructions as well
# Each binary must load only its own library: the check below fails the run otherwise.
set -eu
build=$1
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=bench.test -addext subjectAltName=DNS:bench.test \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null

libs() { ldd "$1" | grep -E 'lib(ssl|crypto)\.so' || true; }
libs "$build/tls_server_cost_openssl" | grep -q android &&
  { echo "tls_server_cost_openssl loads BoringSSL" >&2; exit 1; }
libs "$build/tls_server_cost_boringssl" | grep -q '\.so\.3' &&
  { echo "tls_server_cost_boringssl loads OpenSSL 3" >&2; exit 1; }

for lib in openssl boringssl; do
  "$build/tls_server_cost_$lib" --cert "$dir/cert.pem" --key "$dir/key.pem" "$@"
done
[ "${CALLGRIND:-0}" = 1 ] || exit 0
# Instructions: collection is on only around the server's calls, off during warm-up.
for lib in openssl boringssl; do
  for mode in full resumed; do
    valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$dir/cg.$lib.$mode" \
      "$build/tls_server_cost_$lib" --cert "$dir/cert.pem" --key "$dir/key.pem" "$@" \
      --mode "$mode" --repeats 1 >"$dir/out" 2>&1 || { cat "$dir/out"; exit 1; }
    n=$(sed -n 's/.* n=\([0-9]*\)$/\1/p' "$dir/out")
    total=$(sed -n 's/^summary: //p' "$dir/cg.$lib.$mode")
    echo "$lib $mode instructions/handshake $((total / n)) n=$n"
  done
done
