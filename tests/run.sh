#!/usr/bin/env bash
# The whole test suite: what README.md calls and .ci/run calls. Installs what is missing
# (tests/setup.sh), runs the Deno suites (unit, flows against real redis-server / socket.io /
# Chromium, and the real-kernel I2C suite under QEMU), and ends with `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1
bash tests/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p tests/out
passed=0
failed=0
status=0

# Convert Deno's own summary (`ok | 12 passed (3 steps) | 0 failed (1s)`) into the totals.
count() {
  local log=$1 line p f
  line=$(sed -E 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  p=$(sed -E 's/^[A-Z a-z]+\| ([0-9]+) passed.*/\1/' <<<"$line")
  f=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$line")
  passed=$((passed + p))
  failed=$((failed + f))
}

suite() {
  local name=$1
  shift
  echo "=== $name"
  "$@" 2>&1 | tee "tests/out/$name.log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || status=1
  count "tests/out/$name.log"
}

suite unit deno test --allow-all --no-check=remote --import-map=tests/import_map.json --lock=tests/deno.lock hal services plugins config tests
suite kernel bash tests/kernel/run.sh

echo
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ] || status=1
exit $status
