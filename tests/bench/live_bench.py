"""The live view benchmark's body (tests/bench/live.sh). One process: the
viewers are raw WebSocket clients on one epoll loop (no thread per viewer,
so that the client measures, not the GIL).

Frame lateness: a fragment's decode time (tfdt, 90 kHz) says when its frame
was due relative to the others of its stream; its arrival minus that, less
the smallest such value seen for the stream, is how much later than the
stream's best frame it came. It leaves out the constant part (the pull, the
muxer's one-frame hold-back of 40 ms at 25 fps, the network), so it is a
lateness, not an absolute latency; the same measure is applied to ffmpeg's
output."""
import argparse
import base64
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
        self.base = None   # min(arrival - tfdt) so far
        self.samples = []  # (arrival, tfdt seconds)
        self.bytes = 0

    def media(self, now, moof_payload):
        if self.first is None:
            self.first = now - self.started
        t = tfdt_of(moof_payload)
        if t is not None:
            self.samples.append((now, t / 90000.0))

    def lateness_ms(self, since):
        s = [(a, t) for a, t in self.samples if a >= since]
        if not s:
            return []
        base = min(a - t for a, t in self.samples)
        return [(a - t - base) * 1000 for a, t in s]


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
                    self.stream.media(now, payload[8:size])
            elif op == 9:  # ping: answer (masked, empty)
                self.sock.sendall(b"\x8a\x80" + os.urandom(4))
        return True

    def close(self):
        self.sock.close()


class FfmpegViewer:
    """One `ffmpeg -c copy -f mp4 (fragmented) pipe:` of the camera's RTSP URL."""

    def __init__(self, url):
        self.proc = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
             "-c", "copy", "-f", "mp4", "-movflags", "frag_keyframe+empty_moov+default_base_moof",
             "pipe:1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.sock = self.proc.stdout
        self.stream = Stream(time.monotonic())
        self.buf = b""

    def readable(self, now):
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
            if typ == b"moof":
                self.stream.media(now, self.buf[8:size])
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


def run_window(viewers, seconds, pids):
    """Reads every viewer for `seconds` (after they have all had a first
    media segment or 10 s passed); CPU seconds of `pids` in the window."""
    sel = selectors.DefaultSelector()
    for v in viewers:
        sel.register(v.sock, selectors.EVENT_READ, v)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(v.stream.first is None for v in viewers):
        for key, _ in sel.select(0.2):
            if not key.data.readable(time.monotonic()):
                sel.unregister(key.fileobj)
    # The kept GOP comes in a burst at the start (its frames are seconds
    # old by design): the window starts a second after it.
    settle = time.monotonic() + 1.0
    while time.monotonic() < settle:
        for key, _ in sel.select(0.2):
            if not key.data.readable(time.monotonic()):
                sel.unregister(key.fileobj)
    cpu0 = {p: cpu_s(p) for p in pids()}
    t0 = time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(0.2):
            if not key.data.readable(time.monotonic()):
                sel.unregister(key.fileobj)
    cpu = sum(cpu_s(p) - c for p, c in cpu0.items() if os.path.exists(f"/proc/{p}"))
    sel.close()
    return t0, time.monotonic() - t0, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--cameras", type=int, default=100)
    ap.add_argument("--watched", type=int, default=50)
    ap.add_argument("--viewers", default="1 10 50 100")
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--ffmpeg", type=int, default=1)
    a = ap.parse_args()
    counts = [int(x) for x in a.viewers.split()]
    tmp = tempfile.TemporaryDirectory(prefix="zaulek-live-bench-")
    d = tmp.name
    procs = []
    try:
        campass = "cam-" + os.urandom(8).hex()
        with open(os.open(f"{d}/cam-password", os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(campass + "\n")
        sim_out = open(f"{d}/sim.json", "wb")
        sim = subprocess.Popen([f"{a.build}/sim/zaulek-sim", "--cameras", str(a.cameras), "--json",
                                "--cache-dir", f"{a.build}/sim-cache", "--log-level", "warn",
                                "--user", "benchcam", "--password-file", f"{d}/cam-password"],
                               stdout=sim_out, stderr=open(f"{d}/sim.log", "wb"))
        procs.append(sim)
        for _ in range(900):
            if os.path.getsize(f"{d}/sim.json") > 0 and open(f"{d}/sim.json").read().endswith("\n"):
                break
            time.sleep(0.2)
        info = json.load(open(f"{d}/sim.json"))
        os.makedirs(f"{d}/z")
        with open(f"{d}/z/zaulekd.toml", "w") as f:
            f.write(f"""[server]
listen = "127.0.0.1:0"
max_connections = 4096
max_connections_per_address = 4096
max_unauthenticated_per_address = 4096
[storage]
path = "{d}/z/storage"
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
            with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
                text = r.read().decode()
            got = re.search(r"^zaulek_recording_cameras_recording (\d+)$", text, re.M)
            if got and int(got.group(1)) == len(ids):
                break
            time.sleep(0.5)
        print(f"# {len(ids)} cameras recording after {time.monotonic() - t0:.1f} s; "
              f"{min(a.watched, len(ids))} watched; machine: {os.cpu_count()} cores, "
              f"load {open('/proc/loadavg').read().split()[:3]}")
        watched = ids[:min(a.watched, len(ids))]
        rtsp = [c["rtsp_main"].replace("rtsp://", f"rtsp://benchcam:{campass}@", 1)
                for c in info["cameras"][:len(watched)]]
        # Baseline: recording only.
        _, secs, cpu = run_window([], a.window, lambda: [z.pid])
        base_cpu = cpu / secs
        base_rss = rss_kb(z.pid)
        print(f"baseline (recording {len(ids)} cameras): zaulekd {base_cpu * 100:.1f} % CPU, "
              f"{base_rss / 1024:.0f} MB")
        print("who      viewers  first p50/p99 ms  late p50/p99 ms  CPU/viewer %  MB/viewer  frames")
        for n in counts:
            for who in (["zaulekd", "ffmpeg"] if a.ffmpeg else ["zaulekd"]):
                if who == "zaulekd":
                    viewers = [WsViewer(port, token, watched[i % len(watched)]) for i in range(n)]
                    pids = lambda: [z.pid]  # noqa: E731
                else:
                    viewers = [FfmpegViewer(rtsp[i % len(rtsp)]) for i in range(n)]
                    pids = lambda: [v.proc.pid for v in viewers]  # noqa: E731
                rss0 = rss_kb(z.pid)
                t0, secs, cpu = run_window(viewers, a.window, pids)
                if who == "zaulekd":
                    cpu_v = (cpu / secs - base_cpu) / n
                    mem_v = (rss_kb(z.pid) - rss0) / n / 1024
                else:
                    cpu_v = cpu / secs / n
                    mem_v = sum(rss_kb(v.proc.pid) for v in viewers
                                if os.path.exists(f"/proc/{v.proc.pid}")) / n / 1024
                firsts = [v.stream.first * 1000 for v in viewers if v.stream.first is not None]
                late = [x for v in viewers for x in v.stream.lateness_ms(t0)]
                frames = sum(len([s for s in v.stream.samples if s[0] >= t0]) for v in viewers)
                print(f"{who:8} {n:7}  {pct(firsts, 50):7.1f}/{pct(firsts, 99):7.1f}  "
                      f"{pct(late, 50):7.1f}/{pct(late, 99):7.1f}  {cpu_v * 100:11.2f}  "
                      f"{mem_v:9.2f}  {frames} ({len(firsts)}/{n} started)", flush=True)
                for v in viewers:
                    v.close()
        # Recording lost no frame: every closed segment's frames against its duration.
        for cid in ids:
            call(url, "PATCH", f"/api/v1/cameras/{cid}", {"recording": {"mode": "off"}}, token)
        for _ in range(100):
            if not any(p.endswith(".part") for _, _, fs in os.walk(f"{d}/z/storage") for p in fs):
                break
            time.sleep(0.2)
        db = sqlite3.connect(f"file:{d}/z/storage/zaulek.db?mode=ro", uri=True)
        rows = db.execute("SELECT path, start_ns, end_ns FROM segments WHERE state='closed'").fetchall()
        bad = 0
        for path, start, end in rows:
            r = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
                                "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0",
                                f"{d}/z/storage/{path}"], capture_output=True, text=True)
            counts = [int(x) for x in r.stdout.split() if x.strip().isdigit()]
            frames = counts[0] if counts else 0
            if abs(frames - (end - start) / 1e9 * 25) > 1:
                bad += 1
        print(f"recording: {len(rows)} closed segments, {bad} with frames missing "
              f"against their duration")
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        tmp.cleanup()


if __name__ == "__main__":
    main()
