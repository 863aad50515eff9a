"""The live view benchmark's body (tests/bench/live.sh). One process: the
viewers are raw WebSocket clients on one epoll loop (no thread per viewer,
so that the client measures, not the GIL).

Frame latency: the simulator runs with --send-times, so every frame carries
an SEI user_data_unregistered NAL with its frame number and the wall-clock
time the simulator handed it to its RTP payloader (sim/sei.h). A viewer
finds those in the mdat it receives (zaulekd's fragments and ffmpeg's
alike); latency = arrival (wall clock, same machine) - send time, per frame.

Recording: every closed segment is read back (zaulek-bench-ts-frames, our
TS reader) for its frames, the gaps in its decode times and the simulator's
frame numbers in it; a shortfall is put down to the simulator (a frame it
counted as dropped, or a jump in its time grid, GET /sim/incidents), to the
way between the simulator and the file (a frame number missing that the
simulator sent), or to the segment's boundary."""
import argparse
import base64
import collections
import json
import os
import re
import selectors
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kb(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE_KB


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100 * len(v)))]


def call(url, method, path, body=None, token=None, timeout=60):
    req = urllib.request.Request(url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": "Bearer " + token} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def boxes(buf):
    """(type, payload) of the top-level boxes in buf."""
    off = 0
    while off + 8 <= len(buf):
        size, typ = struct.unpack(">I4s", buf[off:off + 8])
        if size < 8:
            return
        yield typ, buf[off + 8:off + size]
        off += size


MARK = b"zaulek-sim-frame"  # sim/sei.h kSendTimeUuid
STAMP = re.compile(rb"n=(\d+) t=(\d+)")


def stamps(mdat):
    """(frame number, send time in us) of each stamped frame in mdat bytes."""
    out = []
    at = mdat.find(MARK)
    while at >= 0:
        m = STAMP.match(mdat, at + len(MARK))
        if m:
            out.append((int(m.group(1)), int(m.group(2))))
        at = mdat.find(MARK, at + len(MARK))
    return out


def tfdt_of(moof):
    """The first traf's decode time (90 kHz) in a moof payload."""
    for typ, traf in boxes(moof):
        if typ == b"traf":
            for t2, body in boxes(traf):
                if t2 == b"tfdt":
                    return (struct.unpack(">Q", body[4:12])[0] if body[0] == 1
                            else struct.unpack(">I", body[4:8])[0])
    return None


class Stream:
    """Arrival statistics of one viewer's media segments."""

    def __init__(self, started):
        self.started = started
        self.first = None  # seconds from start to the first media segment
        self.fragments = []  # arrival (monotonic) of each media segment
        self.frames = []     # (arrival monotonic, latency ms) per stamped frame
        self.bytes = 0

    def media(self, now, wall_ns, mdat):
        if self.first is None:
            self.first = now - self.started
        self.fragments.append(now)
        for _, sent_us in stamps(mdat):
            self.frames.append((now, (wall_ns / 1000.0 - sent_us) / 1000.0))

    def latency_ms(self, since):
        return [lat for a, lat in self.frames if a >= since]


class WsViewer:
    """A raw WebSocket client of /api/v1/cameras/{id}/live."""

    def __init__(self, port, token, camera):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.stream = Stream(time.monotonic())
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /api/v1/cameras/{camera}/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                           f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Authorization: Bearer {token}\r\n\r\n").encode())
        self.sock.setblocking(False)
        self.buf = b""
        self.upgraded = False
        self.binary_seen = 0

    def readable(self, now):
        wall_ns = time.time_ns()
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return True
        if not data:
            return False
        self.buf += data
        self.stream.bytes += len(data)
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return True
            assert self.buf.startswith(b"HTTP/1.1 101"), self.buf[:200]
            self.upgraded = True
            self.stream.started = now  # from the upgrade on
            self.buf = self.buf[end + 4:]
        while len(self.buf) >= 2:
            op = self.buf[0] & 0x0F
            n = self.buf[1] & 0x7F
            head = 2
            if n == 126:
                if len(self.buf) < 4:
                    break
                n = struct.unpack(">H", self.buf[2:4])[0]
                head = 4
            elif n == 127:
                if len(self.buf) < 10:
                    break
                n = struct.unpack(">Q", self.buf[2:10])[0]
                head = 10
            if len(self.buf) < head + n:
                break
            payload = self.buf[head:head + n]
            self.buf = self.buf[head + n:]
            if op == 2:
                self.binary_seen += 1
                if self.binary_seen > 1 and payload[4:8] == b"moof":
                    size = struct.unpack(">I", payload[:4])[0]
                    self.stream.media(now, wall_ns, payload[size:])
            elif op == 9:  # ping: answer (masked, empty)
                self.sock.sendall(b"\x8a\x80" + os.urandom(4))
        return True

    def close(self):
        self.sock.close()


class FfmpegViewer:
    """One `ffmpeg -c copy -f mp4 (fragmented) pipe:` of the camera's RTSP URL."""

    def __init__(self, url, movflags):
        self.proc = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
             "-c", "copy", "-f", "mp4", "-movflags", movflags,
             "pipe:1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.sock = self.proc.stdout
        self.stream = Stream(time.monotonic())
        self.buf = b""

    def readable(self, now):
        wall_ns = time.time_ns()
        try:
            data = os.read(self.proc.stdout.fileno(), 1 << 20)
        except BlockingIOError:
            return True
        if not data:
            return False
        self.buf += data
        self.stream.bytes += len(data)
        while len(self.buf) >= 8:
            size, typ = struct.unpack(">I4s", self.buf[:8])
            if size < 8 or len(self.buf) < size:
                break
            if typ == b"mdat":
                self.stream.media(now, wall_ns, self.buf[8:size])
            self.buf = self.buf[size:]
        return True

    def close(self):
        # Its output is no longer read: close the pipe first, or an ffmpeg
        # blocked on a full pipe ignores SIGINT and each close waits 5 s.
        self.proc.stdout.close()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_window(viewers, seconds, groups):
    """Reads every viewer for `seconds` (after they have all had a first
    media segment or 10 s passed). groups: label -> callable giving pids;
    returns the window's start, length and CPU seconds per label in it."""
    sel = selectors.DefaultSelector()
    for v in viewers:
        sel.register(v.sock, selectors.EVENT_READ, v)

    def pump(until):
        while time.monotonic() < until:
            for key, _ in sel.select(0.2):
                if not key.data.readable(time.monotonic()):
                    sel.unregister(key.fileobj)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(v.stream.first is None for v in viewers):
        pump(min(deadline, time.monotonic() + 0.2))
    # The kept GOP comes in a burst at the start (its frames are seconds
    # old by design): the window starts a second after it.
    pump(time.monotonic() + 1.0)
    cpu0 = {label: {p: cpu_s(p) for p in fn()} for label, fn in groups.items()}
    t0 = time.monotonic()
    pump(t0 + seconds)
    cpu = {label: sum(cpu_s(p) - c for p, c in pids.items() if os.path.exists(f"/proc/{p}"))
           for label, pids in cpu0.items()}
    sel.close()
    return t0, time.monotonic() - t0, cpu


def get_json(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def metric(url, name):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    got = re.search(rf"^{name} (\d+)$", text, re.M)
    return int(got.group(1)) if got else None


def sim_totals(control):
    """The simulator's sending counters, main streams summed, plus its ticker."""
    cams = get_json(control + "/sim/cameras")["cameras"]
    tot = collections.Counter()
    worst = 0
    for c in cams:
        m = c["streams"]["main"]
        for k in ("frames_sent", "frames_dropped", "frames_stalled", "regrids", "regrid_ms",
                  "late_frames"):
            tot[k] += m[k]
        worst = max(worst, m["max_late_ms"])
    inc = get_json(control + "/sim/incidents")
    return tot, worst, inc


def check_recording(a, d, url, token, ids, info, control):
    """Every closed segment read back; each shortfall attributed."""
    for cid in ids:
        call(url, "PATCH", f"/api/v1/cameras/{cid}", {"recording": {"mode": "off"}}, token)
    for _ in range(150):
        if not any(p.endswith(".part") for _, _, fs in os.walk(f"{d}/z/storage") for p in fs):
            break
        time.sleep(0.2)
    tot, worst, inc = sim_totals(control)
    db = sqlite3.connect(f"file:{d}/z/storage/zaulek.db?mode=ro", uri=True)
    rows = db.execute("SELECT camera_id, path, start_ns, end_ns FROM segments "
                      "WHERE state='closed' ORDER BY camera_id, start_ns").fetchall()
    tool = f"{a.build}/tests/bench/zaulek-bench-ts-frames"
    read = {}
    paths = [f"{d}/z/storage/{r[1]}" for r in rows]
    for i in range(0, len(paths), 100):
        out = subprocess.run([tool] + paths[i:i + 100], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            j = json.loads(line)
            read[j["path"]] = j
    # The simulator's incidents per camera index (main stream), by wall time (us).
    index_of = {cid: i for i, cid in enumerate(ids)}
    by_cam = collections.defaultdict(list)
    for x in inc["incidents"]:
        if x["camera"] is not None and x["stream"] in (None, "main"):
            by_cam[x["camera"]].append(x)
        elif x["camera"] is None:
            for c in range(len(ids)):
                by_cam[c].append(x)

    def sim_incident(cam, t0_us, t1_us, kinds):
        return [x for x in by_cam[cam] if x["kind"] in kinds
                and t0_us - 1_000_000 <= x["wall_us"] <= t1_us + 1_000_000]

    causes = collections.Counter()
    lost = collections.Counter()
    last_of = {}
    for cid, path, start, end in rows:
        last_of[cid] = path
    bad = []
    between = 0
    between_list = []
    prev = {}
    frames_total = 0
    for cid, path, start, end in rows:
        j = read.get(f"{d}/z/storage/{path}", {"frames": 0, "missing": [], "dts_gaps": [],
                                                "first_n": -1, "last_n": -1})
        frames_total += j["frames"]
        cam = index_of.get(cid, -1)
        if cid in prev and prev[cid]["last_n"] >= 0 and j["first_n"] >= 0:
            gap = j["first_n"] - prev[cid]["last_n"] - 1
            if gap != 0:
                between += gap
                between_list.append((cam, prev[cid]["path"], path, gap))
        prev[cid] = j
        expected = round((end - start) / 40e6)
        short = expected - j["frames"]
        if abs(short) <= 1:
            continue
        t0_us, t1_us = start // 1000, end // 1000
        missing = sum(n for _, n in j["missing"])
        if missing:
            dropped = sim_incident(cam, t0_us, t1_us, ("queue_full",))
            cause = ("simulator: queue full" if dropped else
                     "lost between simulator and file")
            lost[cause] += missing
        elif j["dts_gaps"]:
            cause = ("simulator: time jump" if sim_incident(cam, t0_us, t1_us, ("regrid",))
                     else "decode-time gap, simulator sent every frame")
        elif path == last_of[cid]:
            cause = "last segment (stop)"
        else:
            cause = "duration against frames, no gap"
        causes[cause] += 1
        bad.append({"camera": cam, "path": path, "expected": expected, "frames": j["frames"],
                    "missing": j["missing"], "dts_gaps": j["dts_gaps"][:5], "cause": cause,
                    "start_ns": start, "end_ns": end})
    print(f"recording: {len(rows)} closed segments, {frames_total} frames, {len(bad)} with "
          f"frames against duration off by more than one")
    for cause, n in causes.most_common():
        print(f"  {n:4} segments: {cause}" + (f" ({lost[cause]} frames)" if lost[cause] else ""))
    for b in bad[:20]:
        print(f"    cam {b['camera']:3} {os.path.basename(b['path'])}: {b['frames']}/"
              f"{b['expected']} frames, missing numbers {b['missing'][:3]}, decode gaps "
              f"(at ms, ms) {b['dts_gaps'][:3]}: {b['cause']}")
    print(f"  between consecutive segments: {between} frame numbers missing"
          + (f" {between_list[:5]}" if between_list else ""))
    print(f"simulator (main streams): {tot['frames_sent']} frames sent, "
          f"{tot['frames_dropped']} dropped (queue full), {tot['frames_stalled']} stalled, "
          f"{tot['regrids']} time-grid jumps ({tot['regrid_ms']} ms), {tot['late_frames']} "
          f"frames pushed over a frame late (worst {worst} ms); ticker: {inc['ticks']} ticks, "
          f"longest gap {inc['max_tick_gap_ms']} ms, {inc['total']} incidents")
    return {"segments": len(rows), "frames": frames_total, "bad": bad,
            "causes": dict(causes), "lost": dict(lost), "between": between,
            "between_list": between_list, "sim": dict(tot), "sim_worst_late_ms": worst,
            "sim_max_tick_gap_ms": inc["max_tick_gap_ms"], "sim_incidents": inc["total"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--cameras", type=int, default=100)
    ap.add_argument("--watched", type=int, default=50)
    ap.add_argument("--viewers", default="1 10 50 100")
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--ffmpeg", type=int, default=1)
    ap.add_argument("--ffmpeg-movflags", default="frag_keyframe+empty_moov+default_base_moof")
    ap.add_argument("--segment-seconds", type=int, default=10)
    ap.add_argument("--out", default="", help="write the figures as JSON here")
    a = ap.parse_args()
    counts = [int(x) for x in a.viewers.split()]
    tmp = tempfile.TemporaryDirectory(prefix="zaulek-live-bench-")
    d = tmp.name
    procs = []
    results = {"args": vars(a), "rows": []}
    try:
        campass = "cam-" + os.urandom(8).hex()
        with open(os.open(f"{d}/cam-password", os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(campass + "\n")
        sim_out = open(f"{d}/sim.json", "wb")
        sim = subprocess.Popen([f"{a.build}/sim/zaulek-sim", "--cameras", str(a.cameras), "--json",
                                "--cache-dir", f"{a.build}/sim-cache", "--log-level", "warn",
                                "--send-times",
                                "--user", "benchcam", "--password-file", f"{d}/cam-password"],
                               stdout=sim_out, stderr=open(f"{d}/sim.log", "wb"))
        procs.append(sim)
        for _ in range(900):
            if os.path.getsize(f"{d}/sim.json") > 0 and open(f"{d}/sim.json").read().endswith("\n"):
                break
            time.sleep(0.2)
        info = json.load(open(f"{d}/sim.json"))
        assert info.get("send_times"), "zaulek-sim without --send-times"
        control = info["control_url"]
        os.makedirs(f"{d}/z")
        with open(f"{d}/z/zaulekd.toml", "w") as f:
            f.write(f"""[server]
listen = "127.0.0.1:0"
max_connections = 4096
max_connections_per_address = 4096
max_unauthenticated_per_address = 4096
[storage]
path = "{d}/z/storage"
[recording]
segment_seconds = {a.segment_seconds}
[discovery]
interfaces = []
[log]
level = "warn"
""")
        adminpass = "adm-" + os.urandom(8).hex()
        zd = f"{a.build}/server/zaulekd"
        subprocess.run([zd, "--config", f"{d}/z/zaulekd.toml", "user", "add", "benchadmin",
                        "--role", "administrator"], input=adminpass + "\n", text=True, check=True,
                       capture_output=True)
        z = subprocess.Popen([zd, "--config", f"{d}/z/zaulekd.toml", "--port-file", f"{d}/z/port"],
                             stdout=subprocess.DEVNULL, stderr=open(f"{d}/zaulekd.log", "wb"),
                             stdin=subprocess.DEVNULL)
        procs.append(z)
        for _ in range(300):
            if os.path.exists(f"{d}/z/port") and open(f"{d}/z/port").read().strip():
                break
            time.sleep(0.1)
        port = int(open(f"{d}/z/port").read())
        url = f"http://127.0.0.1:{port}"
        st, body = call(url, "POST", "/api/v1/auth/login",
                        {"username": "benchadmin", "password": adminpass})
        assert st == 200, body
        token = body["token"]
        ids = []
        t0 = time.monotonic()
        for cam in info["cameras"]:
            st, body = call(url, "POST", "/api/v1/cameras",
                            {"onvif_url": cam["onvif_url"], "username": "benchcam",
                             "password": campass}, token)
            assert st == 201, (st, body)
            ids.append(body["id"])
        # Every camera recording.
        for _ in range(600):
            if metric(url, "zaulek_recording_cameras_recording") == len(ids):
                break
            time.sleep(0.5)
        load = open('/proc/loadavg').read().split()[:3]
        print(f"# {len(ids)} cameras recording after {time.monotonic() - t0:.1f} s; "
              f"{min(a.watched, len(ids))} watched; segments {a.segment_seconds} s; machine: "
              f"{os.cpu_count()} cores, load {load}; ffmpeg -movflags {a.ffmpeg_movflags}")
        results["load_at_start"] = load
        watched = ids[:min(a.watched, len(ids))]
        rtsp = [c["rtsp_main"].replace("rtsp://", f"rtsp://benchcam:{campass}@", 1)
                for c in info["cameras"][:len(watched)]]
        me = os.getpid()
        # Baseline: recording only.
        _, secs, cpu = run_window([], a.window, {"zaulekd": lambda: [z.pid],
                                                 "sim": lambda: [sim.pid]})
        base_cpu = cpu["zaulekd"] / secs
        base_rss = rss_kb(z.pid)
        results["baseline"] = {"zaulekd_cpu": base_cpu, "sim_cpu": cpu["sim"] / secs,
                               "zaulekd_rss_mb": base_rss / 1024}
        print(f"baseline (recording {len(ids)} cameras): zaulekd {base_cpu * 100:.1f} % CPU, "
              f"{base_rss / 1024:.0f} MB; simulator {cpu['sim'] / secs * 100:.1f} % CPU")
        print("who      viewers  first p50/p99 ms  latency p50/p99/max ms  CPU/viewer %  "
              "MB/viewer  frames          CPU % zaulekd/sim/ffmpeg/bench")
        for n in counts:
            for who in (["zaulekd", "ffmpeg"] if a.ffmpeg else ["zaulekd"]):
                if who == "zaulekd":
                    viewers = [WsViewer(port, token, watched[i % len(watched)]) for i in range(n)]
                else:
                    viewers = [FfmpegViewer(rtsp[i % len(rtsp)], a.ffmpeg_movflags)
                               for i in range(n)]
                groups = {"zaulekd": lambda: [z.pid], "sim": lambda: [sim.pid],
                          "ffmpeg": lambda: [v.proc.pid for v in viewers if hasattr(v, "proc")],
                          "bench": lambda: [me]}
                rss0 = rss_kb(z.pid)
                t0, secs, cpu = run_window(viewers, a.window, groups)
                if who == "zaulekd":
                    cpu_v = (cpu["zaulekd"] / secs - base_cpu) / n
                    mem_v = (rss_kb(z.pid) - rss0) / n / 1024
                else:
                    cpu_v = cpu["ffmpeg"] / secs / n
                    mem_v = sum(rss_kb(v.proc.pid) for v in viewers
                                if os.path.exists(f"/proc/{v.proc.pid}")) / n / 1024
                firsts = [v.stream.first * 1000 for v in viewers if v.stream.first is not None]
                lat = [x for v in viewers for x in v.stream.latency_ms(t0)]
                frames = len(lat)
                pcts = {k: cpu[k] / secs * 100 for k in cpu}
                print(f"{who:8} {n:7}  {pct(firsts, 50):7.1f}/{pct(firsts, 99):7.1f}  "
                      f"{pct(lat, 50):7.1f}/{pct(lat, 99):7.1f}/{max(lat, default=float('nan')):7.1f}"
                      f"  {cpu_v * 100:11.2f}  {mem_v:9.2f}  {frames:6} ({len(firsts)}/{n})  "
                      f"{pcts['zaulekd']:5.1f}/{pcts['sim']:5.1f}/{pcts['ffmpeg']:5.1f}/"
                      f"{pcts['bench']:5.1f}", flush=True)
                results["rows"].append({
                    "who": who, "viewers": n, "first_p50": pct(firsts, 50),
                    "first_p99": pct(firsts, 99), "lat_p50": pct(lat, 50),
                    "lat_p99": pct(lat, 99), "lat_max": max(lat, default=None),
                    "cpu_per_viewer": cpu_v, "mb_per_viewer": mem_v, "frames": frames,
                    "started": len(firsts), "cpu": pcts, "window_s": secs})
                for v in viewers:
                    v.close()
        results["live_skips"] = metric(url, "zaulek_live_skips_total")
        results["recording"] = check_recording(a, d, url, token, ids, info, control)
        print(f"zaulekd: live skips {results['live_skips']}")
        if a.out:
            with open(a.out, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if a.out:
            for name in ("zaulekd.log", "sim.log"):
                try:
                    with open(f"{d}/{name}", "rb") as src, open(a.out + "." + name, "wb") as dst:
                        dst.write(src.read()[-200_000:])
                except OSError:
                    pass
        tmp.cleanup()


if __name__ == "__main__":
    main()
