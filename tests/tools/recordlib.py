"""Helpers for the recorder's integration tests and benchmark: start the RTSP
test source and zaulek-record, read their JSON lines, probe files."""
import json
import os
import select
import signal
import subprocess
import time
from pathlib import Path


def build_dir() -> Path:
    return Path(os.environ.get("ZAULEK_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))


def recorder_bin() -> str:
    return str(build_dir() / "media" / "zaulek-record")


def source_bin() -> str:
    return str(build_dir() / "tests" / "tools" / "zaulek-test-rtsp")


def read_json_line(proc, timeout):
    """The next JSON line on proc's stdout, or None after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if not ready:
            return None
        line = proc.stdout.readline()
        if not line:
            return None
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)


class Source:
    """zaulek-test-rtsp with N mounts; .urls once it listens."""

    def __init__(self, mounts=1, codec="h264", port=0, width=320, height=240, fps=25, gop=25,
                 extra=()):
        args = [source_bin(), "--mounts", str(mounts), "--codec", codec, "--port", str(port),
                "--width", str(width), "--height", str(height), "--fps", str(fps), "--gop",
                str(gop), "--seconds", "4", *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        info = read_json_line(self.proc, 60)
        if info is None:
            self.stop()
            raise RuntimeError("RTSP test source did not start")
        self.port = info["port"]
        self.urls = info["urls"]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_recorder(out, urls, *extra):
    """zaulek-record for urls (list of URL or ID=URL), stdout as text lines."""
    args = [recorder_bin(), "--out", str(out), *extra, *urls]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def reconcile(out, ids):
    """Runs --reconcile-only for the camera ids; returns the recovered segments."""
    args = [recorder_bin(), "--out", str(out), "--reconcile-only",
            *[f"{i}=rtsp://127.0.0.1:1/unused" for i in ids]]
    res = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]


def probe(path):
    """The engine's own reading of a closed segment (start/end/frames...)."""
    res = subprocess.run([recorder_bin(), "--probe", str(path)], capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(res.stdout.splitlines()[0])


def ffprobe(path):
    """Codec, size, frame count and duration of a file, or raise if it does not play."""
    res = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=codec_name,width,height,nb_read_frames:format=duration",
         "-of", "json", str(path)],
        capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise AssertionError(f"ffprobe failed on {path}: {res.stderr}")
    info = json.loads(res.stdout)
    stream = info["streams"][0]
    return {
        "codec": stream["codec_name"],
        "width": stream.get("width"),
        "height": stream.get("height"),
        "frames": int(stream.get("nb_read_frames", 0)),
        "duration": float(info["format"].get("duration", 0.0)),
    }


def decodes(path):
    """True when ffmpeg decodes the whole file without an error."""
    res = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"],
                         capture_output=True, text=True, timeout=120)
    errors = [l for l in res.stderr.splitlines() if "non monotonically increasing dts" not in l]
    return res.returncode == 0 and not errors
