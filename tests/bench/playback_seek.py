#!/usr/bin/env python3
"""Playback seek latency anywhere in 90 days of one-minute segments (#20).

1. zaulekd records one simulated camera (4 Mbit/s 1080p H.264, 2 s GOP) in
   one-minute segments until REAL closed segments exist, then stops.
2. The catalogue gets 90 days of one-minute rows before them (the catalogue
   bench's shape: a daily ten-minute outage), each a hard link to one of the
   real files: real bytes under every row, no extra disk.
3. zaulekd starts again (the camera records on: the live edge is real too);
   one playback WebSocket; SEEKS seeks to random times over the 90 days and
   the last minutes. Each: the time from sending {"type":"seek"} to the
   first media segment after its `start` message (the keyframe's bytes).
4. The floor on the same file and offset: ffmpeg -ss to the same point
   (-frames:v 1 -c copy, a process per seek), and reading the bytes of the
   keyframe's GOP from the file (open, pread 1 MiB: what any server pays).

Bounded: SEEKS seeks, each at most 10 s; the recording phase at most
REAL * 60 + 120 s. Prints p50/p99/max for each. Not part of ctest.

  ZAULEK_BUILD_DIR=build python3 tests/bench/playback_seek.py [--seeks 200] [--real 2]
"""
import argparse
import calendar
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

import requests  # noqa: E402
import websocket  # noqa: E402

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns  # noqa: E402
from simfleet import SimFleet  # noqa: E402
from zaulekd_fixture import ROLE_USERS, Zaulekd, wait_until  # noqa: E402

NS = 1_000_000_000
MINUTE = 60 * NS
DAY = 1440 * MINUTE
USER, PASSWORD = "benchcam", "Bench-Secret-41aa"


def iso(ns):
    t = time.gmtime(ns // NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{(ns % NS) // 1_000_000:03d}Z"


def parse_iso(text):
    main, _, frac = text.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    return secs * NS + int((frac + "000000000")[:9])


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def summary(name, xs):
    return (f"{name:<44} n={len(xs):4d}  p50 {pct(xs, 50) * 1000:7.2f} ms  "
            f"p99 {pct(xs, 99) * 1000:7.2f} ms  max {max(xs) * 1000:7.2f} ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeks", type=int, default=200)
    ap.add_argument("--real", type=int, default=2, help="real one-minute segments to record")
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--seed", type=int, default=20)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    enter_netns()
    tmp = Path(tempfile.mkdtemp(prefix="zaulek-playback-bench-"))
    config = FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n[recording]\nsegment_seconds = 60\n"
    d = Zaulekd(tmp / "d", extra_toml=config)
    for role, user in ROLE_USERS.items():
        d.add_user(user, role)
    d.start()
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        h = admin_headers(d)
        r, _ = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, PASSWORD)
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        camdir = d.dir / "storage" / cid
        print(f"recording {args.real} real one-minute segments ...", flush=True)
        wait_until("real segments", lambda: len(list(camdir.glob("*.ts"))) >= args.real,
                   args.real * 60 + 120, step=1)
        d.stop()
        real = sorted(camdir.glob("*.ts"))
        # Whole minutes only: the segment cut short by the stop (a second or
        # less) would put a near-empty file under a third of the rows.
        biggest = max(p.stat().st_size for p in real)
        real = [p for p in real if p.stat().st_size >= biggest * 0.9]
        sizes = [p.stat().st_size for p in real]
        print(f"real segments: {[p.name for p in real]}, {[s >> 20 for s in sizes]} MiB")

        # 90 days of one-minute rows before the real footage, hard links.
        db = sqlite3.connect(d.dir / "storage" / "zaulek.db")
        first_real = min(r[0] for r in db.execute(
            "SELECT start_ns FROM segments WHERE camera_id = ?", (cid,)))
        base = first_real - args.days * DAY
        synth = camdir / "synth"
        synth.mkdir()
        rows, targets = [], []
        t0 = time.monotonic()
        for minute in range(args.days * 1440):
            if 180 <= minute % 1440 < 190:
                continue  # the daily outage
            k = minute % len(real)
            name = synth / f"{minute}.ts"
            os.link(real[k], name)
            start = base + minute * MINUTE
            rows.append((cid, start, start + MINUTE, sizes[k], f"{cid}/synth/{minute}.ts", "h264",
                         30, "closed"))
        db.executemany("INSERT INTO segments (camera_id, start_ns, end_ns, bytes, path, codec, "
                       "keyframes, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.commit()
        db.close()
        print(f"{len(rows)} synthetic rows and hard links in {time.monotonic() - t0:.1f} s",
              flush=True)

        d.start(timeout=120)
        wait_until("recording again", lambda: requests.get(
            d.url(f"/api/v1/cameras/{cid}"), headers=admin_headers(d), timeout=10).json()
            ["recording"]["state"] == "recording", 120, step=0.5)
        token = d.login("iwona")["token"]
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{d.port}/api/v1/cameras/{cid}/playback?from={iso(base + DAY)}",
            timeout=10, header=["Authorization: Bearer " + token])

        def until_media_after_start():
            """Reads to the first binary message after a `start` text."""
            started = False
            for _ in range(5000):
                op, data = ws.recv_data()
                if op == websocket.ABNF.OPCODE_TEXT:
                    m = json.loads(data)
                    if m["type"] == "start":
                        started = m
                    elif m["type"] == "error":
                        raise AssertionError(m)
                elif started and data[4:8] == b"moof":
                    return started
            raise AssertionError("no media after start")

        until_media_after_start()
        now = time.time_ns()
        seeks, recent, floors_ff, floors_read, behind = [], [], [], [], []
        for i in range(args.seeks):
            if i % 10 == 9:  # the last minutes: the real files and the live edge
                t = now - rng.randrange(5 * NS, 90 * NS)
            else:
                t = base + rng.randrange(0, args.days * DAY - MINUTE)
            sent = time.monotonic()
            ws.send(json.dumps({"type": "seek", "time": iso(t)}))
            start = until_media_after_start()
            (recent if i % 10 == 9 else seeks).append(time.monotonic() - sent)
            # The keyframe the player started at: at most a GOP (2 s) before T
            # where footage covers T.
            behind.append((t - parse_iso(start["keyframe"])) / NS)
            # The floor, on the file under that minute (synthetic rows only).
            minute = (t - base) // MINUTE
            if t < first_real and not (180 <= minute % 1440 < 190):
                path = synth / f"{minute}.ts"
                offset_s = (t - (base + minute * MINUTE)) / NS
                a = time.monotonic()
                subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-ss", f"{offset_s:.3f}", "-i",
                                str(path), "-frames:v", "1", "-c", "copy", "-f", "null", "-"],
                               check=True, capture_output=True, timeout=10)
                floors_ff.append(time.monotonic() - a)
                a = time.monotonic()
                fd = os.open(path, os.O_RDONLY)
                size = os.fstat(fd).st_size
                at = int(size * offset_s / 60) // 188 * 188
                os.pread(fd, 1 << 20, at)
                os.close(fd)
                floors_read.append(time.monotonic() - a)
            if i < 3:
                print(f"seek {iso(t)} -> start {start['time']} keyframe {start['keyframe']}")
        ws.close()
        metrics = requests.get(d.url("/metrics"), timeout=10).text
        d.stop()
    print()
    print(f"catalogue: {len(rows)} synthetic one-minute rows over {args.days} days + real "
          f"segments ({sizes[0] >> 20} MiB each)")
    print(summary("zaulekd: seek in the 90 days -> first frame's bytes", seeks))
    print(summary("zaulekd: seek in the last minutes (live edge)", recent))
    print(f"keyframe before the target: p50 {pct(behind, 50):.2f} s, max {max(behind):.2f} s")
    if floors_ff:
        print(summary("floor: ffmpeg -ss ... -frames:v 1 -c copy", floors_ff))
        print(summary("floor: open + pread 1 MiB at the offset", floors_read))
    for line in metrics.splitlines():
        if line.startswith("zaulek_playback_seeks_total") or line.startswith(
                "zaulek_playback_read_errors_total"):
            print(line)
    subprocess.run(["rm", "-rf", str(tmp)], check=False)


if __name__ == "__main__":
    main()
