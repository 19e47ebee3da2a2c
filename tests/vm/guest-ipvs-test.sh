#!/usr/bin/env bash
# tests/vm/guest-ipvs-test.sh — the IPVS test, run inside the VM that run-ipvs-test.sh boots (root,
# the host's root filesystem read-only, fresh /tmp and /run). Never run it on a host: it loads
# modules and makes bridges and namespaces in the current network namespace.
#
#   guest-ipvs-test.sh BALLAST_BIN [IPVS_TOOL]
#
# Topology, all in 198.18.0.0/15:
#   bridge sw  (front L2): client 198.18.0.2, lb 198.18.0.1 + VIPs .10 (NAT) and .20 (DR),
#                          DR backends d1..d3 198.18.0.11-13 holding VIP .20 on lo
#   bridge swb (back L2):  lb 198.18.1.1, NAT backends n1..n3 198.18.1.11-13:8080 (gateway lb)
# Each backend's busybox httpd answers with its own name; http_count.py counts who answered.
# Part 3 adds lb1 198.18.0.5 and lb2 .6 on sw (mh VIP .30 on lo), d1..d3 holding .30 on lo with a
# line server on 7000, and client source addresses .101-.108.
set -uo pipefail

BALLAST="$1"
TOOL="${2:-}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
COUNT="python3 -B $HERE/http_count.py"
NAT_VIP=198.18.0.10
DR_VIP=198.18.0.20
WORK=/tmp/ipvs-test
T0=$(date +%s.%N)
passed=0
failed=0

stamp() { printf '[%7.2fs] %s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$*"; }
ok() {
  echo "ok   - $*"
  passed=$((passed + 1))
}
bad() {
  echo "FAIL - $*"
  failed=$((failed + 1))
}
# check NAME COMMAND...: one test line.
check() {
  local name="$1"
  shift
  if "$@" >"$WORK/last.out" 2>&1; then ok "$name"; else
    bad "$name"
    sed 's/^/       | /' "$WORK/last.out" | head -20
  fi
}
lb() { ip netns exec lb "$@"; }
# IPVS is per network namespace: everything is looked at from inside lb. The listing goes to
# stdout, so that a failed check shows it.
ipvs_has() { lb ipvsadm -Ln | tee /dev/stderr | grep -Eq "$1"; }
ipvs_lacks() { ! lb ipvsadm -Ln | tee /dev/stderr | grep -Eq "$1"; }
proc_has() { lb cat /proc/net/ip_vs | tee /dev/stderr | grep -Eq "$1"; }
# within GOT "n1=10 n2=20" NAME EXPECTED: NAME's count within ±2 of EXPECTED (0: absent).
within() {
  local got="$1" name="$2" want="$3" n
  n="$(echo " $got " | grep -Eo " $name=[0-9]+" | cut -d= -f2)"
  n="${n:-0}"
  [ $((n - want)) -le 2 ] && [ $((want - n)) -le 2 ]
}
# traffic VIP PORT N name=want...: N connections, each backend's share as expected, no errors.
# Each run takes the next N client source ports (see http_count.py): no connection ever meets an
# IPVS entry an earlier run left behind.
NEXT_SOURCE_PORT=20000
traffic() {
  local vip="$1" port="$2" n="$3" got kv
  shift 3
  got="$(ip netns exec client $COUNT "$vip" "$port" "$n" "$NEXT_SOURCE_PORT")"
  NEXT_SOURCE_PORT=$((NEXT_SOURCE_PORT + n))
  echo "got: $got"
  if echo "$got" | grep -q error; then return 1; fi
  for kv in "$@"; do
    within "$got" "${kv%=*}" "${kv#*=}" || return 1
  done
}
expect_fail() {  # expect_fail PATTERN COMMAND...: fails, and says PATTERN
  local pattern="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    echo "unexpected success: $out"
    return 1
  fi
  echo "$out"
  echo "$out" | grep -q -- "$pattern"
}

serve() {  # serve NS PORT: busybox httpd in the foreground of a background job, pid in a file
  ip netns exec "$1" busybox httpd -f -p "$2" -h "$WORK/www/$1" &
  echo $! >"$WORK/$1.pid"
}

setup() {
  modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh ip_vs_mh ip_vs_lc ip_vs_wlc veth bridge || return 1
  # One `ip -batch` per namespace: under TCG every exec costs ~0.1 s.
  local i root="link set lo up
link add sw type bridge
link set sw up
link add swb type bridge
link set swb up
netns add lb
link add lb-f type veth peer name front netns lb
link add lb-b type veth peer name back netns lb
link set lb-f master sw up
link set lb-b master swb up"
  # veth NAME BRIDGE: a namespace with eth0 plugged into BRIDGE.
  veth() { root="$root
netns add $1
link add $1-e type veth peer name eth0 netns $1
link set $1-e master $2 up"; }
  veth client sw
  for i in 1 2 3; do
    veth "n$i" swb
    veth "d$i" sw
  done
  echo "$root" | ip -batch - || return 1
  ip -n client -batch - <<<"link set lo up
link set eth0 up
addr add 198.18.0.2/24 dev eth0" || return 1
  ip -n lb -batch - <<<"link set lo up
addr add 198.18.0.1/24 dev front
addr add $NAT_VIP/32 dev front
addr add $DR_VIP/32 dev front
link set front up
addr add 198.18.1.1/24 dev back
link set back up" || return 1
  lb sysctl -qw net.ipv4.ip_forward=1 || return 1
  for i in 1 2 3; do
    ip -n "n$i" -batch - <<<"link set lo up
link set eth0 up
addr add 198.18.1.1$i/24 dev eth0
route add default via 198.18.1.1" || return 1
    # DR: the backend accepts the VIP on lo but never answers ARP for it.
    ip -n "d$i" -batch - <<<"link set lo up
addr add $DR_VIP/32 dev lo
link set eth0 up
addr add 198.18.0.1$i/24 dev eth0" || return 1
    ip netns exec "d$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
      net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 || return 1
    for b in "n$i" "d$i"; do
      mkdir -p "$WORK/www/$b" && echo "$b" >"$WORK/www/$b/index.html"
    done
    serve "n$i" 8080
    serve "d$i" 80
  done
  # Each server answers directly (not through IPVS) before the tests start.
  local try
  for i in 1 2 3; do
    for try in $(seq 1 25); do
      ip netns exec lb timeout 2 busybox wget -q -O - "http://198.18.1.1$i:8080/" | grep -qx "n$i" \
        && ip netns exec client timeout 2 busybox wget -q -O - "http://198.18.0.1$i/" | grep -qx "d$i" \
        && break
      [ "$try" -lt 25 ] || return 1
      sleep 0.2
    done
  done
}

# Part 1: the netlink client, step by step, against ipvsadm's and /proc's view.
client_tests() {
  local T="ip netns exec lb $TOOL" S="tcp $NAT_VIP:80"
  check "client: IPVS info over netlink" sh -c "$T info | grep -E '^IPVS 1\.[0-9]+\.[0-9]+ '"
  check "client: add NAT service (wrr)" $T add-service $S wrr
  check "ipvsadm sees the service" ipvs_has "^TCP  $NAT_VIP:80 wrr"
  check "/proc/net/ip_vs sees it (hex)" proc_has "^TCP  C612000A:0050 wrr"
  check "client: add 3 NAT destinations" sh -c "$T add-dest $S 198.18.1.11:8080 nat 1 &&
    $T add-dest $S 198.18.1.12:8080 nat 2 && $T add-dest $S 198.18.1.13:8080 nat 3"
  check "ipvsadm sees Masq weight 3" ipvs_has "198\.18\.1\.13:8080 +Masq +3 "
  check "/proc/net/ip_vs sees weight 2 on :1F90" \
    proc_has "C612010C:1F90 +Masq +2 "
  check "client: list decodes destinations" \
    sh -c "$T list | grep -q 'dest 198.18.1.12:8080 fwd=nat weight=2'"
  stamp "NAT traffic, weights 1:2:3"
  check "NAT traffic follows weights 1:2:3" traffic $NAT_VIP 80 60 n1=10 n2=20 n3=30
  check "client: set weight 0" $T set-weight $S 198.18.1.13:8080 0
  check "ipvsadm sees weight 0" ipvs_has "198\.18\.1\.13:8080 +Masq +0 "
  check "weight 0 takes no new connections" traffic $NAT_VIP 80 60 n1=20 n2=40 n3=0
  check "client: persistence via set-service" $T set-service $S rr 60
  check "ipvsadm sees rr persistent 60" ipvs_has "^TCP  $NAT_VIP:80 rr persistent 60"
  check "client: duplicate service is refused (EEXIST)" expect_fail "File exists" $T add-service $S wrr
  check "client: unknown scheduler names its module" \
    expect_fail "modprobe ip_vs_nosuch" $T add-service tcp 198.18.0.30:80 nosuch
  check "client: delete destination" $T del-dest $S 198.18.1.11:8080
  check "ipvsadm no longer sees it" ipvs_lacks "198\.18\.1\.11:8080"
  check "client: delete service" $T del-service $S
  check "ipvsadm no longer sees the service" ipvs_lacks "$NAT_VIP:80"

  stamp "DR via the client"
  S="tcp $DR_VIP:80"
  check "client: DR service + destinations" sh -c "$T add-service $S wrr &&
    $T add-dest $S 198.18.0.11:80 dr 1 && $T add-dest $S 198.18.0.12:80 dr 1 &&
    $T add-dest $S 198.18.0.13:80 dr 2"
  check "ipvsadm sees Route" ipvs_has "198\.18\.0\.13:80 +Route +2 "
  check "DR traffic follows weights 1:1:2" traffic $DR_VIP 80 60 d1=15 d2=15 d3=30
  check "client: DR weight 0" $T set-weight $S 198.18.0.13:80 0
  check "DR weight 0 takes no new connections" traffic $DR_VIP 80 40 d1=20 d2=20 d3=0
  check "client: delete DR service" $T del-service $S

  stamp "services made by ipvsadm, read by the client"
  lb ipvsadm -A -t '[2001:db8::1]:443' -s mh
  lb ipvsadm -A -f 7 -s rr
  lb ipvsadm -A -u 198.18.0.40:53 -s sh -p 120
  lb ipvsadm -a -u 198.18.0.40:53 -r 198.18.1.11:5353 -m -w 4
  check "client decodes IPv6, fwmark, UDP + persistence" sh -c "$T list >$WORK/list.out &&
    cat $WORK/list.out &&
    grep -q 'service tcp \[2001:db8::1\]:443 sched=mh persistent=0' $WORK/list.out &&
    grep -q 'service fwmark 7/inet sched=rr' $WORK/list.out &&
    grep -q 'service udp 198.18.0.40:53 sched=sh persistent=1 timeout=120' $WORK/list.out &&
    grep -q 'dest 198.18.1.11:5353 fwd=nat weight=4' $WORK/list.out"
  check "client: delete IPv6 service" $T del-service tcp '[2001:db8::1]:443'
  lb ipvsadm -C
}

# Part 2: `ballast apply` with driver ipvs: program, stay idempotent, repair drift, keep other
# services, disable.
write_config() {  # write_config N3_WEIGHT
  cat >"$WORK/ballast.yaml" <<YAML
kernel:
  driver: ipvs
virtual_services:
  - name: web-nat
    vip: $NAT_VIP
    port: 80
    scheduler: wrr
    forwarding: nat
    backends:
      - {address: "198.18.1.11:8080", weight: 1}
      - {address: "198.18.1.12:8080", weight: 2}
      - {address: "198.18.1.13:8080", weight: $1}
    health_check: {type: tcp, interval: 500ms, timeout: 300ms, fall: 2, rise: 2}
  - name: web-dr
    vip: $DR_VIP
    port: 80
    scheduler: wrr
    forwarding: dr
    backends:
      - {address: "198.18.0.11:80", weight: 1}
      - {address: "198.18.0.12:80", weight: 1}
      - {address: "198.18.0.13:80", weight: 2}
YAML
}

apply_tests() {
  local B="ip netns exec lb $BALLAST"
  write_config 3
  lb ipvsadm -A -t 198.18.0.50:80 -s rr  # not Ballast's: must survive everything below
  check "ballast apply programs IPVS" $B apply -c "$WORK/ballast.yaml"
  lb ipvsadm -Ln
  check "apply made NAT service and dests" sh -c "ip netns exec lb ipvsadm -Ln | grep -Eq '198\.18\.1\.13:8080 +Masq +3 '"
  check "apply made DR service and dests" ipvs_has "198\.18\.0\.13:80 +Route +2 "
  check "ownership recorded" grep -qx "$NAT_VIP:80/tcp" /run/ballast/ipvs-services
  check "NAT traffic through ballast's service" traffic $NAT_VIP 80 60 n1=10 n2=20 n3=30
  check "DR traffic through ballast's service" traffic $DR_VIP 80 60 d1=15 d2=15 d3=30
  check "second apply changes nothing" sh -c "$B apply -c $WORK/ballast.yaml --dry-run"
  lb ipvsadm -e -t $NAT_VIP:80 -r 198.18.1.12:8080 -m -w 9
  lb ipvsadm -d -t $NAT_VIP:80 -r 198.18.1.11:8080
  lb ipvsadm -E -t $DR_VIP:80 -s lc
  check "hand changes are seen as drift" expect_fail "" $B apply -c "$WORK/ballast.yaml" --dry-run
  check "apply repairs the drift" $B apply -c "$WORK/ballast.yaml"
  check "weight 2 restored, n1 back, wrr back" sh -c "
    ip netns exec lb ipvsadm -Ln | grep -Eq '198\.18\.1\.12:8080 +Masq +2 ' &&
    ip netns exec lb ipvsadm -Ln | grep -Eq '198\.18\.1\.11:8080 +Masq +1 ' &&
    ip netns exec lb ipvsadm -Ln | grep -Eq '^TCP  $DR_VIP:80 wrr'"
  write_config 0
  check "apply with a backend at weight 0" $B apply -c "$WORK/ballast.yaml"
  check "weight 0 in IPVS" ipvs_has "198\.18\.1\.13:8080 +Masq +0 "
  check "weight 0 backend gets no new connections" traffic $NAT_VIP 80 60 n1=20 n2=40 n3=0
  write_config 3
  check "apply restores the weight" $B apply -c "$WORK/ballast.yaml"

  # Health: the daemon's TCP checks turn a dead backend into weight 0 and back.
  stamp "daemon with health checks"
  # Not through lb(): $! must be the daemon itself (ip netns exec execs it), not a subshell.
  ip netns exec lb "$BALLAST" apply -c "$WORK/ballast.yaml" --daemon >"$WORK/daemon.log" 2>&1 &
  local daemon=$!
  sleep 2
  kill "$(cat "$WORK/n3.pid")"
  check "a dead backend goes to weight 0" sh -c "for i in \$(seq 1 40); do
    ip netns exec lb ipvsadm -Ln | grep -Eq '198\.18\.1\.13:8080 +Masq +0 ' && exit 0; sleep 0.5
    done; exit 1"
  check "traffic avoids the dead backend" traffic $NAT_VIP 80 30 n1=10 n2=20 n3=0
  serve n3 8080
  check "a revived backend gets its weight back" sh -c "for i in \$(seq 1 40); do
    ip netns exec lb ipvsadm -Ln | grep -Eq '198\.18\.1\.13:8080 +Masq +3 ' && exit 0; sleep 0.5
    done; exit 1"
  kill "$daemon" 2>/dev/null
  wait "$daemon" 2>/dev/null
  sed 's/^/       daemon | /' "$WORK/daemon.log" | tail -8

  check "the daemon stopped on SIGTERM" sh -c "! kill -0 $daemon 2>/dev/null"
  check "ballast disable removes its services" $B disable -c "$WORK/ballast.yaml"
  check "Ballast's services are gone" ipvs_lacks "$NAT_VIP:80|$DR_VIP:80"
  check "the foreign service survived" ipvs_has "^TCP  198\.18\.0\.50:80 rr"
}

# Part 3: ECMP moves a flow to another node. Two load balancers lb1 and lb2 (198.18.0.5, .6,
# on the front bridge) get the SAME file by `ballast apply`: one DR service with scheduler mh
# over d1..d3, which hold the VIP on lo. The client opens one connection per source address
# through lb1, then its route to the VIP is switched to lb2 and each same connection carries on:
# lb2 has no entry for it and must pick the same backend, or that backend's RST ends it.
# mh hashes the source address only (the mh-port flag is not set), so the flows differ by
# source address, not by port.
MH_VIP=198.18.0.30
MH_PORT=7000
LB1=198.18.0.5
LB2=198.18.0.6
MH_SOURCES="198.18.0.101 198.18.0.102 198.18.0.103 198.18.0.104 198.18.0.105 198.18.0.106
  198.18.0.107 198.18.0.108"

mh_setup() {
  ip -batch - <<<"netns add lb1
link add lb1-e type veth peer name eth0 netns lb1
link set lb1-e master sw up
netns add lb2
link add lb2-e type veth peer name eth0 netns lb2
link set lb2-e master sw up" || return 1
  local n i src addrs=""
  for n in 1 2; do
    # The VIP on lo, as on a routed ECMP node; it only reaches the node by the client's route.
    ip -n "lb$n" -batch - <<<"link set lo up
addr add $MH_VIP/32 dev lo
link set eth0 up
addr add 198.18.0.$((4 + n))/24 dev eth0" || return 1
    # sloppy_tcp: IPVS schedules a mid-flow TCP packet it has no entry for (default: only a SYN).
    ip netns exec "lb$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.arp_ignore=1 \
      net.ipv4.conf.all.arp_announce=2 net.ipv4.vs.sloppy_tcp=1 || return 1
  done
  for src in $MH_SOURCES; do
    addrs="$addrs
addr add $src/32 dev eth0"
  done
  ip -n client -batch - <<<"${addrs#?}" || return 1
  for i in 1 2 3; do
    ip -n "d$i" addr add "$MH_VIP/32" dev lo || return 1
    ip netns exec "d$i" python3 -B "$HERE/line_server.py" "d$i" "$MH_PORT" "$WORK/line-d$i.ready" &
    echo $! >"$WORK/line-d$i.pid"
  done
  for i in $(seq 1 50); do
    [ -e "$WORK/line-d1.ready" ] && [ -e "$WORK/line-d2.ready" ] && [ -e "$WORK/line-d3.ready" ] \
      && return 0
    sleep 0.1
  done
  return 1
}

write_mh_config() {  # write_mh_config SCHEDULER D3_WEIGHT
  cat >"$WORK/mh.yaml" <<YAML
kernel:
  driver: ipvs
virtual_services:
  - name: lines
    vip: $MH_VIP
    port: $MH_PORT
    scheduler: $1
    forwarding: dr
    backends:
      - {address: "198.18.0.11:$MH_PORT", weight: 1}
      - {address: "198.18.0.12:$MH_PORT", weight: 1}
      - {address: "198.18.0.13:$MH_PORT", weight: $2}
YAML
}

# moved_flows: one connection per source address, lb1 then lb2; "SRC FIRST SECOND" lines.
moved_flows() {
  ip netns exec client python3 -B "$HERE/moved_flows.py" "$MH_VIP" "$MH_PORT" "$LB1" "$LB2" \
    $MH_SOURCES | tee "$WORK/moved.out"
}
# flows_kept [DRAINED]: every flow answered through lb1 (never by DRAINED), kept its backend
# through lb2, over at least 2 backends.
flows_kept() {
  moved_flows || return 1
  awk -v drained="${1:-none}" '$2 !~ /^d[123]$/ || $2 == drained || $3 != $2 { bad = 1 }
    { seen[$2] = 1 } END { for (b in seen) n++; exit (bad || NR == 0 || n < 2) }' "$WORK/moved.out"
}
# Every flow answered through lb1; at least one did not get the same backend through lb2.
flows_broken() {
  moved_flows || return 1
  awk '$2 !~ /^d[123]$/ { bad = 1 } $3 != $2 { moved++ }
    END { print moved + 0, "of", NR, "flows broke"; exit (bad || NR == 0 || moved == 0) }' \
    "$WORK/moved.out"
}
# Every flow answered through lb1 and was reset through lb2.
flows_reset() {
  moved_flows || return 1
  awk '$2 !~ /^d[123]$/ || $3 != "reset" { bad = 1 } END { exit (bad || NR == 0) }' \
    "$WORK/moved.out"
}
same_ipvs() {  # lb1 and lb2 hold the same services and destinations, in the same order
  local a b
  a="$(ip netns exec lb1 ipvsadm -Ln)" && b="$(ip netns exec lb2 ipvsadm -Ln)" || return 1
  echo "$a"
  [ "$a" = "$b" ]
}

apply_both() {  # apply_both: the same file on lb1 and lb2
  ip netns exec lb1 "$BALLAST" apply -c "$WORK/mh.yaml" \
    && ip netns exec lb2 "$BALLAST" apply -c "$WORK/mh.yaml"
}

mh_tests() {
  write_mh_config mh 1
  check "mh: ballast apply on lb1 and lb2, same file" apply_both
  check "mh: ballast sets mh-fallback" \
    sh -c "ip netns exec lb1 ipvsadm -Ln | grep -Eq '^TCP  $MH_VIP:$MH_PORT mh.*mh-fallback'"
  check "mh: lb1 and lb2 hold the same services and destinations" same_ipvs
  check "mh: flows moved from lb1 to lb2 keep their backend" flows_kept

  # The negatives: the same move must break when lb2 cannot or does not choose alike.
  ip netns exec lb2 sysctl -qw net.ipv4.vs.sloppy_tcp=0
  check "mh: without sloppy_tcp on lb2 every moved flow is reset" flows_reset
  check "doctor warns about sloppy_tcp=0 with mh" sh -c "ip netns exec lb2 $BALLAST doctor \
    -c $WORK/mh.yaml | tee /dev/stderr | grep -E 'warn.*net\.ipv4\.vs\.sloppy_tcp = 0'"
  check "doctor is content with sloppy_tcp=1" sh -c "ip netns exec lb1 $BALLAST doctor \
    -c $WORK/mh.yaml | tee /dev/stderr | grep -E 'ok.*net\.ipv4\.vs\.sloppy_tcp = 1'"
  ip netns exec lb2 sysctl -qw net.ipv4.vs.sloppy_tcp=1
  write_mh_config rr 1
  check "rr: ballast apply on lb2 (lb1 stays mh)" \
    ip netns exec lb2 "$BALLAST" apply -c "$WORK/mh.yaml"
  check "rr on lb2: some moved flows land on another backend" flows_broken

  # Drain (or health down) on every node: weight 0 keeps d3 in mh's table, so the other flows do
  # not move; mh-fallback sends d3's share on, the same way on both nodes.
  write_mh_config mh 0
  check "mh: d3 at weight 0 on lb1 and lb2" apply_both
  check "mh, d3 drained: every flow answered, never by d3, kept across nodes" \
    flows_kept d3
}

# Part 4: convergence at scale, the same size as bench/kernel_reconcile_bench.py uses for
# nftables: 1,000 services x 10 backends (NAT, so no addresses are needed on the namespace).
# The times are printed, not asserted (a VM on a shared host); the counts are asserted.
write_scale_config() {  # write_scale_config BUMPED_WEIGHT
  python3 - "$1" >"$WORK/scale.yaml" <<'PY'
import sys
bump = int(sys.argv[1])
print("kernel: {driver: ipvs}\nvirtual_services:")
for i in range(1000):
    print(f"  - name: s{i}\n    vip: 198.18.{100 + i // 250}.{i % 250 + 1}\n    port: 80\n"
          "    scheduler: wrr\n    forwarding: nat\n    backends:")
    for j in range(10):
        n = i * 10 + j
        w = 1 + (i + j) % 3 + (bump if (i, j) == (500, 0) else 0)
        print(f"      - {{address: \"198.19.{n // 250}.{n % 250 + 1}:8080\", weight: {w}}}")
PY
}
# timed_apply LABEL: ballast apply on lb, its wall time and stage times printed.
timed_apply() {
  local start end
  start=$(date +%s.%N)
  ip netns exec lb "$BALLAST" apply -c "$WORK/scale.yaml" >"$WORK/scale.out" 2>&1 || return 1
  end=$(date +%s.%N)
  # Kept aside: check() hides the output of the command it runs unless it fails.
  echo "scale: $1: $(echo "($end - $start) * 1000 / 1" | bc) ms wall; $(tail -1 "$WORK/scale.out")" \
    >>"$WORK/scale.times"
}
scale_tests() {
  rm -f "$WORK/scale.times"
  write_scale_config 0
  check "scale: 1,000 services x 10 backends applied" timed_apply "converge from empty"
  check "scale: IPVS holds 1,000 services" sh -c \
    "[ \"\$(ip netns exec lb ipvsadm -Ln | grep -Ec '^TCP  198\.18\.10[0-3]\.')\" -eq 1000 ]"
  check "scale: and 10,000 destinations" sh -c \
    "[ \"\$(ip netns exec lb ipvsadm -Ln | grep -Ec '198\.19\.[0-9.]+:8080 +Masq ')\" -eq 10000 ]"
  check "scale: idle apply changes nothing" timed_apply "idle apply"
  check "scale: ... and says so" grep -q "kernel already matches" "$WORK/scale.out"
  write_scale_config 10
  check "scale: one weight change applied" timed_apply "one weight change"
  check "scale: the weight is in IPVS" sh -c \
    "ip netns exec lb ipvsadm -Ln -t 198.18.102.1:80 | grep -Eq '198\.19\.20\.1:8080 +Masq +13 '"
  check "scale: ballast disable removes them" \
    ip netns exec lb "$BALLAST" disable -c "$WORK/scale.yaml"
  check "scale: none left" sh -c "! ip netns exec lb ipvsadm -Ln | grep -q '^TCP  198\.18\.10[0-3]\.'"
  sed 's/^/       /' "$WORK/scale.times"
}

mkdir -p "$WORK"
stamp "guest test start: kernel $(uname -r)"
if ! setup >"$WORK/setup.log" 2>&1; then
  cat "$WORK/setup.log"
  bad "setup (modules, namespaces, servers)"
else
  ok "setup: 8 namespaces, 2 bridges, 6 httpd"
  stamp "setup done"
  if [ -n "$TOOL" ]; then
    client_tests
    stamp "client tests done"
  fi
  apply_tests
  stamp "apply tests done"
  scale_tests
  stamp "scale tests done"
  if ! mh_setup >"$WORK/mh-setup.log" 2>&1; then
    cat "$WORK/mh-setup.log"
    bad "mh setup (lb1, lb2, 3 line servers)"
  else
    ok "mh setup: lb1, lb2, 3 line servers"
    mh_tests
    stamp "mh tests done"
  fi
fi
echo "ipvs guest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
