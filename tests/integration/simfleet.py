"""Start zaulek-sim for a test and read its --json output.

    from simfleet import SimFleet

    with SimFleet(cameras=2) as sim:               # free ports, loopback
        cam = sim.cameras[0]                       # dict from --json:
        cam["rtsp_main"], cam["rtsp_sub"]          #   index, name, onvif_url, rtsp_main,
        cam["onvif_url"], cam["snapshot_url"]      #   rtsp_sub, snapshot_url (None if unknown)
        sim.control_url                            # http://127.0.0.1:PORT
        sim.post_event(0, "motion", True)          # -> {"time": RFC 3339 µs, "time_ns": int}
        sim.set_faults(0, rtsp_stall_ms=2000)      # -> current faults
        status, body = sim.request("GET", "/sim/cameras")

Options: SimFleet(cameras=N, user="admin", password="pw", h265=True, seed=1,
script="path", extra_args=[...], start_timeout=180). With user/password the
password is written to a private temporary file for --password-file.

The binary is $ZAULEK_BUILD_DIR/sim/zaulek-sim (default ./build). Encoded clips
are cached in $ZAULEK_SIM_CACHE, else $ZAULEK_BUILD_DIR/sim-cache, so only the
first simulator of a run pays for the encode. The simulator's log (stderr) is in
sim.log_path; sim.log() returns it. stop() (or leaving the with-block) sends
SIGTERM and waits; a simulator that does not stop within 10 s is killed.
"""

import json
import os
import select
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

__all__ = ["SimFleet", "sim_binary", "cache_dir", "build_dir"]


def build_dir():
    return os.environ.get("ZAULEK_BUILD_DIR", os.path.join(os.getcwd(), "build"))


def sim_binary():
    return os.path.join(build_dir(), "sim", "zaulek-sim")


def cache_dir():
    return os.environ.get("ZAULEK_SIM_CACHE", os.path.join(build_dir(), "sim-cache"))


class SimFleet:
    def __init__(self, cameras=2, user=None, password=None, h265=False, seed=None,
                 script=None, extra_args=(), start_timeout=180):
        self._tmp = tempfile.TemporaryDirectory(prefix="zaulek-sim-")
        self.log_path = os.path.join(self._tmp.name, "sim.log")
        args = [sim_binary(), "--cameras", str(cameras), "--bind", "127.0.0.1",
                "--base-port", "0", "--json", "--cache-dir", cache_dir()]
        if user is not None:
            pw_file = os.path.join(self._tmp.name, "password")
            with open(os.open(pw_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(password + "\n")
            args += ["--user", user, "--password-file", pw_file]
        if h265:
            args.append("--h265")
        if seed is not None:
            args += ["--seed", str(seed)]
        if script is not None:
            args += ["--script", str(script)]
        args += list(extra_args)
        self.args = args
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._log)
        try:
            self.info = self._read_json(start_timeout)
        except Exception:
            self.stop()
            raise
        self.cameras = self.info["cameras"]
        self.control_url = self.info["control_url"]

    def _read_json(self, timeout):
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"zaulek-sim printed no JSON in {timeout} s; log:\n{self.log()}")
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
                if not chunk:
                    raise RuntimeError(f"zaulek-sim exited ({self.proc.wait()}); log:\n{self.log()}")
                line += chunk
        return json.loads(line)

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    # --- control API -----------------------------------------------------
    def request(self, method, path, body=None, raw=None, timeout=10):
        """Returns (status, parsed JSON or None). body: object sent as JSON; raw: bytes."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, None

    def _ok(self, method, path, body=None):
        status, reply = self.request(method, path, body)
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status} {reply}")
        return reply

    def post_event(self, camera, kind="motion", state=True):
        return self._ok("POST", f"/sim/cameras/{camera}/events", {"kind": kind, "state": state})

    def set_faults(self, camera, **faults):
        return self._ok("POST", f"/sim/cameras/{camera}/faults", faults)

    def list_cameras(self):
        return self._ok("GET", "/sim/cameras")["cameras"]

    # --- lifetime ----------------------------------------------------------
    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self._tmp.cleanup()
