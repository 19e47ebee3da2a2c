#!/usr/bin/env bash
# tests/vm/run-ipvs-test.sh — runs the IPVS tests against a real IPVS kernel: boots Debian's
# linux-image-amd64 kernel under qemu with the host's root shared read-only over virtio-9p, so the
# guest runs this very checkout's binaries and scripts. Exits 0 only if the guest test passed.
#
#   tests/vm/run-ipvs-test.sh BALLAST_BIN [IPVS_TOOL]
#
# Environment: BALLAST_VM_KERNEL (a /boot/vmlinuz-*; default: the newest one with ip_vs modules),
# BALLAST_VM_ACCEL (kvm|tcg; default kvm when /dev/kvm is usable), BALLAST_VM_TIMEOUT (seconds,
# default 600: TCG on a busy host takes about 6 minutes), BALLAST_VM_WORKDIR (initramfs, staged
# binaries, console log; default a new /var/tmp/ballast-vm.* removed afterwards),
# BALLAST_VM_TEST (the guest script; default tests/vm/guest-ipvs-test.sh).
# Needs: qemu-system-x86, linux-image-amd64, busybox-static, cpio, kmod (Debian packages).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "run-ipvs-test: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: $0 BALLAST_BIN [IPVS_TOOL]"
ballast_bin="$(realpath "$1")"
[ -x "$ballast_bin" ] || die "not executable: $ballast_bin"
ipvs_tool=""
if [ $# -ge 2 ]; then
  ipvs_tool="$(realpath "$2")"
  [ -x "$ipvs_tool" ] || die "not executable: $ipvs_tool"
fi
guest_test="$(realpath "${BALLAST_VM_TEST:-$here/guest-ipvs-test.sh}")"
timeout_s="${BALLAST_VM_TIMEOUT:-600}"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: apt-get install qemu-system-x86"
busybox="$(command -v busybox || true)"
[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' \
  || die "a static busybox is needed: apt-get install busybox-static"
command -v cpio >/dev/null || die "cpio missing: apt-get install cpio"
command -v modprobe >/dev/null || die "modprobe missing: apt-get install kmod"

# The kernel: the host's own may lack IPVS, so pick an installed one whose modules include it.
kernel="${BALLAST_VM_KERNEL:-}"
if [ -z "$kernel" ]; then
  for dir in $(ls -d /lib/modules/*/ 2>/dev/null | sort -Vr); do
    ver="$(basename "$dir")"
    if [ -f "/boot/vmlinuz-$ver" ] && ls "$dir"kernel/net/netfilter/ipvs/ip_vs.ko* >/dev/null 2>&1; then
      kernel="/boot/vmlinuz-$ver"
      break
    fi
  done
fi
[ -n "$kernel" ] && [ -f "$kernel" ] \
  || die "no kernel with IPVS modules found: apt-get install linux-image-amd64"
kver="${kernel##*/vmlinuz-}"

# The work dir must be visible in the guest, which mounts fresh tmpfs over /tmp and /run: so
# /var/tmp by default, and never one of those.
workdir="${BALLAST_VM_WORKDIR:-}"
if [ -z "$workdir" ]; then
  workdir="$(mktemp -d /var/tmp/ballast-vm.XXXXXX)"
  trap 'rm -rf "$workdir"' EXIT
fi
mkdir -p "$workdir"
workdir="$(realpath "$workdir")"
case "$workdir/" in
  /tmp/* | /run/* | /proc/* | /sys/* | /dev/*) die "BALLAST_VM_WORKDIR $workdir is hidden in the guest" ;;
esac
t0=$(date +%s.%N)

# Stage what the guest runs in the work dir, so that a build under /tmp (a CI clone) works too.
stage="$workdir/stage"
rm -rf "$stage"
mkdir -p "$stage"
cp "$ballast_bin" "$stage/ballast"
ballast_bin="$stage/ballast"
if [ -n "$ipvs_tool" ]; then
  cp "$ipvs_tool" "$stage/ipvs_tool"
  ipvs_tool="$stage/ipvs_tool"
fi
cp "$(dirname "$guest_test")"/*.sh "$(dirname "$guest_test")"/*.py "$stage/" 2>/dev/null || true
cp "$guest_test" "$stage/"
guest_test="$stage/$(basename "$guest_test")"

# initramfs: static busybox, /init, and the virtio + 9p modules with their dependencies (in load
# order, decompressed because busybox insmod may not read .ko.xz/.ko.zst).
root="$workdir/initramfs"
rm -rf "$root"
mkdir -p "$root/bin" "$root/modules"
cp "$busybox" "$root/bin/busybox"
cp "$here/initramfs-init.sh" "$root/init"
chmod 755 "$root/init" "$root/bin/busybox"
: >"$root/modules/order"
for mod in virtio_pci 9pnet_virtio 9p; do
  modprobe -S "$kver" --show-depends "$mod" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
  name="$(basename "$ko")"
  case "$name" in
    *.ko.xz) xz -dc "$ko" >"$root/modules/${name%.xz}"; name="${name%.xz}" ;;
    *.ko.zst) zstd -qdc "$ko" >"$root/modules/${name%.zst}"; name="${name%.zst}" ;;
    *.ko.gz) gzip -dc "$ko" >"$root/modules/${name%.gz}"; name="${name%.gz}" ;;
    *) cp "$ko" "$root/modules/$name" ;;
  esac
  echo "$name" >>"$root/modules/order"
done
[ -s "$root/modules/order" ] || die "no virtio/9p modules found for $kver"
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$workdir/initramfs.gz"

# KVM when it works. Nested under some hypervisors /dev/kvm exists but a guest never gets past
# the kernel's decompressor, so probe: a kernel without a root file system prints its banner and
# panics (exiting qemu through -no-reboot) within seconds when KVM is sound.
accel="${BALLAST_VM_ACCEL:-}"
if [ -z "$accel" ]; then
  accel=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    timeout -k 2 "${BALLAST_VM_KVM_PROBE_S:-10}" qemu-system-x86_64 -accel kvm -cpu host -m 256 \
      -kernel "$kernel" -append "console=ttyS0 panic=-1 root=/dev/nonexistent" -nic none \
      -display none -monitor none -serial "file:$workdir/kvm-probe.log" -no-reboot \
      </dev/null >/dev/null 2>&1 || true
    if grep -q 'Linux version' "$workdir/kvm-probe.log" 2>/dev/null; then
      accel=kvm
    else
      echo "run-ipvs-test: /dev/kvm does not boot a guest here; using TCG (slower)"
    fi
  fi
fi
cpu_args=(-accel tcg -cpu max)
[ "$accel" = kvm ] && cpu_args=(-accel kvm -cpu host)

args="ballast.test=$guest_test ballast.arg=$ballast_bin"
[ -n "$ipvs_tool" ] && args="$args ballast.arg=$ipvs_tool"
log="$workdir/console.log"
echo "run-ipvs-test: kernel $kver, accel $accel, ready to boot after" \
  "$(echo "$(date +%s.%N) - $t0" | bc)s; console log $log"

# No NIC at all: the guest's only networks are the namespaces and veths its test makes.
# no_timer_check: under TCG on a busy host the kernel's IO-APIC timer probe can miss its window
# and panic ("IO-APIC + timer doesn't work!") before anything runs.
set +e
timeout -k 5 "$timeout_s" qemu-system-x86_64 "${cpu_args[@]}" -m 1024 -smp 2 \
  -kernel "$kernel" -initrd "$workdir/initramfs.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check $args" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -nic none -display none -monitor none -serial stdio -no-reboot </dev/null | tee "$log"
qemu_rc=${PIPESTATUS[0]}
set -e
echo "run-ipvs-test: qemu exited $qemu_rc after $(echo "$(date +%s.%N) - $t0" | bc)s"

if grep -q '^BALLAST-VM-RESULT: PASS' "$log"; then
  echo "run-ipvs-test: PASS"
  exit 0
fi
[ "$qemu_rc" -eq 124 ] && echo "run-ipvs-test: timed out after ${timeout_s}s"
echo "run-ipvs-test: FAIL"
exit 1
