#!/usr/bin/env python3
"""/healthz latency while discovery scans run (issue 18: slow calls must not
delay fast ones). Prints figures; asserts nothing about time.

Starts the zaulekd of ZAULEK_BUILD_DIR (default ./build) on loopback inside a
network namespace of its own (root; as the camera tests), then, for 0 and 2
concurrent scans of SCAN_MS each, sends ROUNDS sequential GET /healthz and
prints their median and maximum latency. Bounded: ROUNDS requests per case,
each with a 60 s timeout.

    sudo ZAULEK_BUILD_DIR=build-x python3 tests/bench/slow_calls.py
"""
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

import requests  # noqa: E402

from camera_helpers import enter_netns  # noqa: E402
from zaulekd_fixture import ZAULEKD, Zaulekd  # noqa: E402

SCAN_MS = int(os.environ.get("SCAN_MS", "4000"))
ROUNDS = int(os.environ.get("ROUNDS", "20"))


def healthz_latencies(d, n):
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        r = requests.get(d.url("/healthz"), timeout=60)
        out.append(time.monotonic() - t0)
        assert r.status_code == 200
    return out


def case(d, admin, scans):
    with ThreadPoolExecutor(max(scans, 1)) as pool:
        futures = [pool.submit(requests.post, d.url("/api/v1/discovery/scan"), headers=admin,
                               json={"timeout_ms": SCAN_MS, "targets": ["127.0.0.1"]},
                               timeout=SCAN_MS / 1000 + 30) for _ in range(scans)]
        if scans:
            # Give the scans their workers first: wait until one is in flight
            # (on the old daemon nothing says so; its scans hold the workers
            # as soon as they start, which the first /healthz then meets).
            time.sleep(0.2)
        lat = healthz_latencies(d, ROUNDS)
        done_during = sum(f.done() for f in futures)
        for f in futures:
            assert f.result().status_code == 200
    return lat, done_during


def main():
    enter_netns()
    with tempfile.TemporaryDirectory() as tmp:
        d = Zaulekd(Path(tmp) / "d")
        d.add_user("adam", "administrator")
        d.start()
        try:
            admin = d.bearer("adam")
            print(f"zaulekd: {ZAULEKD}")
            print(f"{ROUNDS} sequential GET /healthz; scans of {SCAN_MS} ms each")
            for scans in (0, 2):
                lat, done = case(d, admin, scans)
                ms = sorted(x * 1000 for x in lat)
                print(f"  {scans} scans: median {statistics.median(ms):8.1f} ms, "
                      f"max {ms[-1]:8.1f} ms, first {lat[0] * 1000:8.1f} ms "
                      f"(scans finished before the last /healthz: {done})")
        finally:
            d.stop()


if __name__ == "__main__":
    main()
