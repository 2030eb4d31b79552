#!/usr/bin/env bash
# Installs what the test suite needs when it is missing: redis-server, QEMU, a Debian kernel with
# i2c-stub, busybox, libgpiod v1, Chromium, systemd-analyze, Mosquitto, promtool, libfaketime, Python smbus2. Idempotent and quiet when
# everything is there. Used by tests/run.sh (the README's test command) and bench/main.ts.
set -euo pipefail
log() { printf '[setup] %s\n' "$*" >&2; }

# Deno comes from the README's command (npx -y deno@2.9.6 task test), never from a global install.
if ! command -v deno >/dev/null 2>&1; then
  log "Cannot set up: no deno on PATH (run the suite as 'npx -y deno@2.9.6 task test')"
  exit 1
fi

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# Scale-out tests run a master, a replica and three sentinels (tests/sentinel_test.ts).
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
# The initramfs has no libc: busybox must be the static build.
bb=$( [ -x /bin/busybox ] && ldd /bin/busybox 2>&1 || true)
[[ "$bb" == *"not a dynamic executable"* ]] || need+=(busybox-static)
command -v cpio >/dev/null 2>&1 || need+=(cpio)
ls /usr/lib/x86_64-linux-gnu/libgpiod.so.2* >/dev/null 2>&1 || need+=(libgpiod2)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
/usr/bin/python3 -c 'import smbus2' >/dev/null 2>&1 || need+=(python3 python3-smbus2)
# python-socketio is the independent live-feed client of tests/hub_auth_test.ts (polling needs requests).
/usr/bin/python3 -c 'import socketio, requests' >/dev/null 2>&1 || need+=(python3-socketio python3-requests python3-websocket)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_sub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# Wall-clock steps in the service's processes only (tests/clock_step_test.ts).
ls /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 >/dev/null 2>&1 || need+=(libfaketime)
if ! ls /lib/modules/*/kernel/drivers/i2c/i2c-stub.ko* >/dev/null 2>&1 || ! ls /boot/vmlinuz-* >/dev/null 2>&1; then
  need+=(KERNEL)
fi

if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  log "apt-get update"
  apt-get update -qq >/dev/null
  pkgs=()
  for p in "${need[@]}"; do
    if [ "$p" = KERNEL ]; then
      p=$(apt-cache search --names-only '^linux-image-[0-9.]+-[0-9]+-amd64-unsigned$' | awk '{print $1}' | sort -V | tail -1)
    fi
    pkgs+=("$p")
  done
  log "apt-get install ${pkgs[*]}"
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

# `deno bundle` (the plugin host's bundler) fetches esbuild from npm on first use: do it now, not
# inside a test with a deadline.
if [ ! -f tests/out/.bundle-warm ]; then
  mkdir -p tests/out
  if deno bundle --quiet --platform deno --format esm -o tests/out/.sdk-bundle.js plugins/sdk/mod.ts >/dev/null 2>&1; then
    touch tests/out/.bundle-warm
  else
    log "warning: deno bundle could not run (esbuild download?)"
  fi
fi
