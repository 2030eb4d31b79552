"""Python peer for bench/i2c_read.ts: smbus2 read_byte_data(0x77, 0xD0), timed per call.
Prints one JSON line per repeat: {"peer":"python","nsPerCall":N}. Usage: i2c_read.py [bus] [calls] [repeats]"""
import json
import sys
import time

from smbus2 import SMBus

bus_no = int(sys.argv[1]) if len(sys.argv) > 1 else 0
calls = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
with SMBus(bus_no) as bus:
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        for _ in range(calls):
            value = bus.read_byte_data(0x77, 0xD0)
        print(json.dumps({"peer": "python", "nsPerCall": (time.perf_counter_ns() - t0) / calls, "value": value}))
