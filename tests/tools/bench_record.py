"""Recorder benchmark (run by tests/bench/record.sh; not part of ctest).

For each camera count N, one RTSP source serves N streams and three recorders
pull them side by side for the same window:
  (a) zaulek-record (one process, all cameras), with rtspsrc ("zaulek") and
      with the native ingest ("zaulek_native": --ingest native),
  (b) one `ffmpeg -c copy -f segment` process per camera,
  (c) the floor: one gst-launch-1.0 with N `rtspsrc ! fakesink` branches,
  (d) with the simulator as source: zaulekd itself, the N cameras added
      through its API (ONVIF onboarding, supervision, PullPoint events and
      recording in one daemon: what an installation runs),
  (e) "native": zaulek-bench-rtsp-floor, our own RTSP/TCP client and H.264
      depayloader on one Asio thread, nothing written: what ingest costs
      without GStreamer's per-packet thread hand-offs.
CPU is utime+stime from /proc over the window, RSS is VmRSS at its end. For
zaulekd the frames each recorder received in the window (from the camera API)
are printed against the simulator's 25 fps: "lost" is frames short of that.
--arms picks which recorders run (e.g. `--arms zaulekd` for 100 cameras: all
four at once would need more than this machine's two cores). The figures are
printed, never asserted."""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recordlib  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (FileNotFoundError, ProcessLookupError):
        return 0.0


def rss_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def dir_bytes(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def start_source(n, kind):
    if kind == "sim":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
        from simfleet import SimFleet  # noqa: E402
        sim = SimFleet(cameras=n)
        sim.__enter__()
        return sim, [c["rtsp_main"] for c in sim.cameras], sim.__exit__
    src = recordlib.Source(mounts=n, width=1280, height=720, fps=25, gop=50,
                           extra=("--bitrate", "4000", "--pattern", "snow"))
    return src, src.urls, lambda *a: src.stop()


class Zaulekd:
    """zaulekd on a free loopback port with the sim's cameras added
    (continuous recording, 60 s segments)."""

    def __init__(self, work, sim):
        self.proc, self.base, self.token, self.ids = start_zaulekd(work, sim)

    def recorder_counts(self):
        """camera id -> (frames, restarts) of its recorder."""
        import json
        import urllib.request
        out = {}
        for cid in self.ids:
            req = urllib.request.Request(f"{self.base}/cameras/{cid}",
                                         headers={"Authorization": "Bearer " + self.token})
            with urllib.request.urlopen(req, timeout=60) as r:
                rec = json.load(r)["recording"]
            out[cid] = (rec.get("frames", 0), rec.get("restarts", 0))
        return out


def start_zaulekd(work, sim):
    """Returns (process, API base URL, token, camera ids)."""
    import json
    import urllib.error
    import urllib.request
    zaulekd = recordlib.build_dir() / "server" / "zaulekd"
    state = work / "zaulekd"
    state.mkdir(parents=True)
    cfg = work / "zaulekd.toml"
    cfg.write_text(f'[server]\nlisten = "127.0.0.1:0"\n[storage]\npath = "{state}"\n'
                   '[recording]\nsegment_seconds = 60\n[discovery]\ninterfaces = []\n'
                   '[log]\nlevel = "warn"\n')
    password = "bench-" + os.urandom(8).hex()
    subprocess.run([str(zaulekd), "--config", str(cfg), "user", "add", "bench", "--role",
                    "administrator"], input=password + "\n", text=True, check=True,
                   capture_output=True)
    port_file = work / "zaulekd.port"
    log = open(work / "zaulekd.log", "wb")
    proc = subprocess.Popen([str(zaulekd), "--config", str(cfg), "--port-file", str(port_file)],
                            stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"zaulekd did not start; see {work / 'zaulekd.log'}")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port_file.read_text().strip()}/api/v1"

    def call(path, body, token=None):
        req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            raise SystemExit(f"zaulekd {path}: {e.code} {e.read().decode(errors='replace')}")

    ids = []
    try:
        token = call("/auth/login", {"username": "bench", "password": password})["token"]
        for c in sim.cameras:
            ids.append(call("/cameras", {"onvif_url": c["onvif_url"], "name": c["name"],
                                         "username": "", "password": "",
                                         "recording": {"mode": "continuous",
                                                       "retention_days": 7}}, token)["id"])
    except BaseException:
        proc.kill()  # not yet in the caller's list: it would outlive the benchmark
        proc.wait()
        raise
    return proc, base, token, ids


SIM_FPS = 25  # zaulek-sim's clip


def run(n, window, warmup, kind, keep, arms):
    work = Path(tempfile.mkdtemp(prefix=f"zaulek-bench-{n}-"))
    handle, urls, close = start_source(n, kind)
    procs = {}
    daemon = None
    frames0 = frames1 = None
    try:
        if "zaulek" in arms:
            procs["zaulek"] = [recordlib.start_recorder(work / "zaulek", urls, "--segment-seconds",
                                                        "60", "--log-level", "warn")]
        if "zaulek_native" in arms:
            procs["zaulek_native"] = [recordlib.start_recorder(
                work / "zaulek_native", urls, "--segment-seconds", "60", "--log-level", "warn",
                "--ingest", "native")]
        ff = []
        for i, url in enumerate(urls if "ffmpeg" in arms else []):
            out = work / "ffmpeg" / f"cam{i}"
            out.mkdir(parents=True)
            ff.append(subprocess.Popen(
                ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
                 "-c", "copy", "-f", "segment", "-segment_time", "60", "-reset_timestamps", "1",
                 str(out / "%05d.ts")], stdout=subprocess.DEVNULL))
        if ff:
            procs["ffmpeg"] = ff
        if "floor" in arms:
            desc = []
            for url in urls:
                desc += ["rtspsrc", f"location={url}", "protocols=tcp", "!", "fakesink",
                         "sync=false"]
            procs["floor"] = [subprocess.Popen(["gst-launch-1.0", "-q", *desc],
                                               stdout=subprocess.DEVNULL)]
        if "native" in arms:
            tool = recordlib.build_dir() / "tests" / "bench" / "zaulek-bench-rtsp-floor"
            procs["native"] = [subprocess.Popen([str(tool), *urls], stdout=subprocess.PIPE,
                                                text=True)]
        if kind == "sim" and "zaulekd" in arms:
            daemon = Zaulekd(work, handle)
            procs["zaulekd"] = [daemon.proc]
        time.sleep(warmup)
        if daemon:
            frames0 = daemon.recorder_counts()
        t0 = time.monotonic()
        c0 = {k: sum(cpu_seconds(p.pid) for p in v) for k, v in procs.items()}
        written = [k for k in ("zaulek", "zaulek_native", "ffmpeg", "zaulekd") if k in procs]
        b0 = {k: dir_bytes(work / k) for k in written}
        time.sleep(window)
        dt = time.monotonic() - t0
        c1 = {k: sum(cpu_seconds(p.pid) for p in v) for k, v in procs.items()}
        b1 = {k: dir_bytes(work / k) for k in written}
        rss = {k: sum(rss_kb(p.pid) for p in v) for k, v in procs.items()}
        alive = {k: sum(p.poll() is None for p in v) for k, v in procs.items()}
        if daemon:
            frames1 = daemon.recorder_counts()
    finally:
        for v in procs.values():
            for p in v:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
        for v in procs.values():
            for p in v:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        close(None, None, None)
        if "native" in procs:
            native_out = procs["native"][0].stdout.read().strip()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    cpu = {k: (c1[k] - c0[k]) / dt * 100 / n for k in c0}
    print(f"\n== {n} camera(s), {kind} source, {dt:.0f} s window ==")
    print(f"{'recorder':<13} {'CPU %/stream':>13} {'RSS MB/cam':>11} {'written MB/s':>13} {'alive':>6}")
    for k in [k for k in ("zaulek", "zaulek_native", "zaulekd", "ffmpeg", "floor", "native")
              if k in procs]:
        written = f"{(b1[k] - b0[k]) / dt / 1e6:13.2f}" if k in b0 else f"{'-':>13}"
        print(f"{k:<13} {cpu[k]:13.3f} {rss[k] / 1024 / n:11.2f} {written} {alive[k]:>6}")
    if "zaulek_native" in cpu and cpu.get("ffmpeg"):
        print(f"ratios: zaulek_native/ffmpeg CPU {cpu['zaulek_native'] / cpu['ffmpeg']:.2f}, "
              f"zaulek_native/ffmpeg RSS {rss['zaulek_native'] / max(1, rss['ffmpeg']):.2f}")
    if "native" in procs:
        print(f"native (whole run, warm-up included): {native_out}")
        if "ffmpeg" in cpu and cpu["ffmpeg"] > 0:
            print(f"ratios: native/ffmpeg CPU {cpu['native'] / cpu['ffmpeg']:.2f}"
                  + (f", native/floor CPU {cpu['native'] / cpu['floor']:.2f}"
                     if cpu.get("floor") else ""))
    if frames0 and frames1:
        fps = sorted((frames1[c][0] - frames0[c][0]) / dt for c in frames1)
        restarts = sum(frames1[c][1] - frames0[c][1] for c in frames1)
        expected = SIM_FPS * dt * n
        got = sum(frames1[c][0] - frames0[c][0] for c in frames1)
        print(f"zaulekd frames: {got} received in the window, {expected:.0f} expected "
              f"({SIM_FPS} fps x {n}; more: a backlog from the warm-up caught up); per camera min {fps[0]:.2f} median {fps[len(fps) // 2]:.2f} "
              f"max {fps[-1]:.2f} fps; {max(0, expected - got):.0f} short; "
              f"{restarts} recorder restarts in the window")
    if {"zaulek", "ffmpeg", "floor"} <= cpu.keys() and cpu["ffmpeg"] > 0 and cpu["floor"] > 0:
        print(f"ratios: zaulek/ffmpeg CPU {cpu['zaulek'] / cpu['ffmpeg']:.2f}, "
              f"zaulek/floor CPU {cpu['zaulek'] / cpu['floor']:.2f}, "
              f"zaulek/ffmpeg RSS {rss['zaulek'] / max(1, rss['ffmpeg']):.2f}")
    if {"zaulekd", "ffmpeg", "floor"} <= cpu.keys() and cpu["ffmpeg"] > 0 and cpu["floor"] > 0:
        print(f"ratios: zaulekd/ffmpeg CPU {cpu['zaulekd'] / cpu['ffmpeg']:.2f}, "
              f"zaulekd/floor CPU {cpu['zaulekd'] / cpu['floor']:.2f}, "
              f"zaulekd/ffmpeg RSS {rss['zaulekd'] / max(1, rss['ffmpeg']):.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("counts", nargs="*", type=int, default=[1, 10])
    ap.add_argument("--window", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=8.0)
    ap.add_argument("--source", choices=("auto", "sim", "test"), default="auto")
    ap.add_argument("--keep", action="store_true", help="keep the recorded files")
    ap.add_argument("--arms", default="zaulek,zaulek_native,zaulekd,ffmpeg,floor",
                    help="comma-separated recorders to run: zaulek, zaulek_native (zaulek-record "
                         "--ingest native), zaulekd, ffmpeg, floor, native (the receive-only "
                         "native floor) (default: all but native)")
    args = ap.parse_args()
    arms = set(args.arms.split(","))
    known = {"zaulek", "zaulek_native", "zaulekd", "ffmpeg", "floor", "native"}
    if not arms <= known:
        sys.exit("--arms: " + ", ".join(sorted(known)))
    kind = args.source
    if kind == "auto":
        sim = recordlib.build_dir() / "sim" / "zaulek-sim"
        kind = "sim" if sim.exists() else "test"
    for n in args.counts:
        if n < 1 or n > 200:
            sys.exit("camera counts: 1..200")
        run(n, min(args.window, 600), min(args.warmup, 60), kind, args.keep, arms)


if __name__ == "__main__":
    main()
