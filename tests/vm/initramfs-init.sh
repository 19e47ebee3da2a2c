#!/bin/busybox sh
# tests/vm/initramfs-init.sh — /init of the IPVS test VM: load virtio + 9p, mount the host's
# root read-only, give it writable /tmp and /run, run the guest test in it, power off.
# Parameters come on the kernel command line (ballast.test=, ballast.arg=) so this file never
# changes between runs.
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

say() { echo "vm-init: $*"; }
die() { say "$*"; echo "BALLAST-VM-RESULT: FAIL (init: $*)"; /bin/busybox poweroff -f; }

# Modules in dependency order, as listed by run-ipvs-test.sh.
for m in $(/bin/busybox cat /modules/order); do
  /bin/busybox insmod "/modules/$m" || die "insmod $m failed"
done

# The virtio device may appear a moment after the driver binds.
tries=0
until /bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose \
    hostroot /newroot; do
  tries=$((tries + 1))
  [ "$tries" -ge 50 ] && die "cannot mount hostroot over 9p"
  /bin/busybox sleep 0.1
done

/bin/busybox mount -t proc proc /newroot/proc
/bin/busybox mount -t sysfs sysfs /newroot/sys
/bin/busybox mount -t devtmpfs devtmpfs /newroot/dev
/bin/busybox mkdir -p /newroot/dev/pts 2>/dev/null
/bin/busybox mount -t devpts devpts /newroot/dev/pts 2>/dev/null
/bin/busybox mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
/bin/busybox mount -t tmpfs -o mode=755 tmpfs /newroot/run

test_script=""
test_arg=""
for kv in $(/bin/busybox cat /proc/cmdline); do
  case "$kv" in
    ballast.test=*) test_script="${kv#ballast.test=}" ;;
    ballast.arg=*) test_arg="${test_arg} ${kv#ballast.arg=}" ;;
  esac
done
[ -n "$test_script" ] || die "no ballast.test= on the kernel command line"

say "booted in $(/bin/busybox cut -d' ' -f1 /proc/uptime)s; running $test_script"
# shellcheck disable=SC2086  # the arguments are space-separated paths without spaces
/bin/busybox chroot /newroot /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp \
  TERM=dumb /bin/bash "$test_script" $test_arg
rc=$?
say "test exited $rc after $(/bin/busybox cut -d' ' -f1 /proc/uptime)s"
if [ "$rc" -eq 0 ]; then
  echo "BALLAST-VM-RESULT: PASS"
else
  echo "BALLAST-VM-RESULT: FAIL (exit $rc)"
fi
/bin/busybox sync
/bin/busybox poweroff -f
