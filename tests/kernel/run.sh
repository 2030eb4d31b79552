#!/usr/bin/env bash
# Real-kernel suite: boots Debian's kernel under QEMU (TCG) with a tiny busybox initramfs that
# loads i2c-dev + i2c-stub (chip_addr=0x77,0x3c,0x51), mounts the host root read-only over 9p,
# chroots into it and runs the hal/linux kernel tests against the real /dev/i2c-0. Inside the
# chroot the tests also modprobe at24 (a driver claiming 0x51, for I2C_SLAVE_FORCE) and i2c-piix4
# (QEMU's emulated PIIX4 SMBus controller) from the host's /lib/modules. The USB/IP files
# (i2c_usb, broker, gpio, uart) load vhci-hcd and a real USB driver (i2c-tiny-usb, viperboard +
# gpio-viperboard, cp210x) and attach an emulated device (tests/kernel/usbip/) to it; the last
# file prints a table of what ran on what. One boot for all of it.
#
#   bash tests/kernel/run.sh          # deno test of tests/kernel/*_kernel.ts, Deno's summary printed
#   KERNEL_TESTS=tests/kernel/x_kernel.ts bash tests/kernel/run.sh   # only some files (iterating)
#   bash tests/kernel/run.sh bench    # I2C read benchmark (Deno FFI vs C vs Python smbus2), JSON lines
#
# Exits non-zero when the guest run fails, the guest does not report, or the hard timeout hits.
set -euo pipefail
mode=${1:-test}
case "$mode" in test | bench) ;; *) echo "Cannot run kernel suite: unknown mode '$mode' (test or bench)" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/tests/out/kernel"
timeout_s=${KERNEL_TIMEOUT:-240}
mkdir -p "$out"

# Newest /boot/vmlinuz-*-amd64 whose modules (with i2c-stub) are installed.
kver=""
for k in $(ls /boot/vmlinuz-*-amd64 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V -r); do
  if ls "/lib/modules/$k/kernel/drivers/i2c/i2c-stub.ko"* >/dev/null 2>&1; then kver=$k; break; fi
done
if [ -z "$kver" ]; then
  echo "Cannot run kernel tests: no /boot/vmlinuz-*-amd64 with i2c-stub modules (run tests/setup.sh)" >&2
  exit 1
fi
moddir="/lib/modules/$kver"

# Build the initramfs: busybox, the modules (dependencies resolved from modules.dep), /init.
stage="$out/initramfs"
rm -rf "$stage"
mkdir -p "$stage"/{bin,dev,proc,sys,mnt/root,lib/modules}
cp /bin/busybox "$stage/bin/busybox"
order=()
declare -A seen=()
add_module() { # $1 = path relative to $moddir as in modules.dep
  local rel=$1 dep
  [ -n "${seen[$rel]:-}" ] && return
  seen[$rel]=1
  for dep in $(awk -F': *' -v m="$rel" '$1 == m { print $2 }' "$moddir/modules.dep"); do add_module "$dep"; done
  order+=("$rel")
}
for name in virtio_pci 9pnet_virtio 9p i2c-dev i2c-stub; do
  rel=$(awk -F: '{ print $1 }' "$moddir/modules.dep" | grep -E "/${name//-/[-_]}\.ko(\.xz|\.zst|\.gz)?$" | head -1)
  [ -n "$rel" ] || { echo "Cannot build initramfs: module $name not in $moddir/modules.dep" >&2; exit 1; }
  add_module "$rel"
done
: >"$stage/lib/modules/order"
for rel in "${order[@]}"; do
  base=$(basename "$rel")
  case "$base" in
    *.ko.xz) xz -dc "$moddir/$rel" >"$stage/lib/modules/${base%.xz}"; base=${base%.xz} ;;
    *.ko.zst) zstd -qdc "$moddir/$rel" >"$stage/lib/modules/${base%.zst}"; base=${base%.zst} ;;
    *.ko.gz) gzip -dc "$moddir/$rel" >"$stage/lib/modules/${base%.gz}"; base=${base%.gz} ;;
    *) cp "$moddir/$rel" "$stage/lib/modules/$base" ;;
  esac
  echo "$base" >>"$stage/lib/modules/order"
done

# The guest runs the very Deno the host runs (npx's copy on a fresh machine is under ~/.npm, which
# the guest sees through the read-only host root); it never looks deno up on its own PATH.
deno_bin=${DENO_BIN:-$(command -v deno || true)}
[ -n "$deno_bin" ] || { echo "Cannot run kernel tests: no deno on PATH (run through 'npx -y deno@2.9.6 task test')" >&2; exit 1; }
deno_bin=$(readlink -f "$deno_bin")
# The broker test runs main.ts in the guest with the host's Deno cache (read-only through 9p)
# for its npm packages: make sure they are there (a no-op when the unit suite already ran).
host_deno_dir=$("$deno_bin" info --json 2>/dev/null | sed -n 's/.*"denoDir": *"\([^"]*\)".*/\1/p' | head -1)
(cd "$root" && "$deno_bin" cache --frozen --quiet main.ts) ||
  echo "kernel suite: could not cache main.ts's packages; the broker test will say what is missing" >&2
# What the guest runs inside the chroot (the host root, read-only, tmpfs where it must write).
if [ "$mode" = bench ]; then
  gcc -O2 -Wall -o "$out/i2c_read_c" "$root/bench/peers/i2c_read.c"
  guest_cmd="cd '$root' && DENO='$deno_bin' sh bench/peers/guest_bench.sh '$out/i2c_read_c'"
else
  # Types are checked on the host (deno task check); skipping tsc saves seconds under TCG.
  guest_cmd="cd '$root' && '$deno_bin' test --allow-all --no-lock --no-config --no-check ${KERNEL_TESTS:-tests/kernel/*_kernel.ts}"
fi

# The guest's one writable directory (a tmpfs over the read-only host root). It must not hide the
# checkout: CI may clone under /tmp, so pick the first candidate that is not a parent of $root.
scratch=""
for d in /tmp /run /var/tmp /mnt; do
  case "$root/" in "$d"/*) continue ;; esac
  scratch=$d
  break
done

# The guest's PATH is the host's (with /sbin for modprobe): whatever the host hides, the guest does not see.
guest_path="$PATH:/usr/sbin:/sbin"

cat >"$stage/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in \$(cat /lib/modules/order); do
  case \$m in
    i2c-stub.ko) insmod /lib/modules/\$m chip_addr=0x77,0x3c,0x51 ;;
    *) insmod /lib/modules/\$m ;;
  esac
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /mnt/root || echo "KERNEL_GUEST 9p mount failed"
r=/mnt/root
mount -t proc proc \$r/proc
mount -t sysfs sys \$r/sys
mount -t devtmpfs dev \$r/dev
mount -t tmpfs scratch \$r$scratch
echo "KERNEL_GUEST booted \$(uname -r) in \$(cut -d' ' -f1 /proc/uptime)s"
chroot \$r /bin/sh -c "export HOME=$scratch/home DENO_DIR=$scratch/deno HARVESTER_HOST_DENO_DIR=$host_deno_dir TMPDIR=$scratch/tmp NO_COLOR=1 PATH=$guest_path; mkdir -p $scratch/home $scratch/tmp; $guest_cmd"
echo "KERNEL_GUEST_RC=\$?"
poweroff -f
INIT
chmod +x "$stage/init"
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1 >"$out/initramfs.cpio.gz")

# The guest CPU model. Not "max": with every feature TCG can emulate (AVX-512 and friends), V8
# in the plugin sandbox's worker dies with "Fatal error in :0: unreachable code" (QEMU 7.2, Deno
# 2.9.6), and emulated AVX is slower anyway. Nehalem (SSE4.2, no AVX) runs everything.
cpu=${KERNEL_CPU:-Nehalem}
log="$out/$mode.log"
start=$(date +%s.%N)
set +e
timeout --kill-after=5 "$timeout_s" qemu-system-x86_64 -accel tcg -cpu "$cpu" -m 1024 -smp 2 -nographic -no-reboot \
  -nic none -kernel "/boot/vmlinuz-$kver" -initrd "$out/initramfs.cpio.gz" \
  -append "console=ttyS0 quiet panic=-1" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap </dev/null 2>&1 | tr -d '\r' | tee "$log"
qrc=${PIPESTATUS[0]}
set -e
end=$(date +%s.%N)
echo "kernel $kver, qemu exit $qrc, $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s" >&2
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
  echo "Cannot finish kernel $mode: QEMU timed out after ${timeout_s}s" >&2
  exit 1
fi
rc=$(grep -oE 'KERNEL_GUEST_RC=[0-9]+' "$log" | tail -1 | cut -d= -f2)
if [ -z "$rc" ]; then
  echo "Cannot finish kernel $mode: the guest did not report a result (see $log)" >&2
  exit 1
fi
exit "$rc"
