#!/bin/sh
# Runs inside the QEMU guest (tests/kernel/run.sh bench): the three I2C read peers against
# i2c-stub at 0x77, each printing JSON lines. $1 = the C peer binary compiled on the host.
set -e
"${DENO:-deno}" run --allow-all --no-lock --no-config --no-check bench/i2c_read.ts --guest
"$1" 0 20000 5
if /usr/bin/python3 -c 'import smbus2' 2>/dev/null; then
  /usr/bin/python3 bench/peers/i2c_read.py 0 5000 5
else
  echo '{"peer":"python","missing":"smbus2 not installed"}'
fi
