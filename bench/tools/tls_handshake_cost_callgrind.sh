#!/bin/sh
# bench/tools/tls_handshake_cost_callgrind.sh — user-space instructions per handshake, server
# side only, for each case of tls_handshake_cost (collection is on only inside
# tls_cost_server_side; each block of handshakes is one dump named after its case).
#   bench/tools/tls_handshake_cost_callgrind.sh build/tls_handshake_cost [tool options]
set -eu
tool=$1
shift
handshakes=200
prev=""
for a in "$@"; do
  [ "$prev" = "--handshakes" ] && handshakes=$a
  prev=$a
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
valgrind --tool=callgrind --collect-atstart=no --toggle-collect=tls_cost_server_side \
  --callgrind-out-file="$dir/cg.%p" "$tool" --handshakes "$handshakes" "$@" >"$dir/out" 2>&1 ||
  { cat "$dir/out"; exit 1; }
# Every dump but the final one (which holds nothing measured) carries "Client Request: <case>".
for f in $(ls -v "$dir"/cg.*.*); do
  name=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
  total=$(sed -n 's/^summary: //p' "$f")
  echo "$name $total"
done | awk -v n="$handshakes" '
  { sum[$1] += $2; blocks[$1]++; if (!($1 in order)) { order[$1] = ++k; names[k] = $1 } }
  END {
    printf "%-34s %14s %7s\n", "case (server side)", "instr/handshake", "n"
    for (i = 1; i <= k; i++) {
      c = names[i]
      printf "%-34s %14.0f %7d\n", c, sum[c] / (blocks[c] * n), blocks[c] * n
    }
  }'
