"""Starts the real zaulekd for integration tests.

A Zaulekd writes a config into a temporary directory, creates users through
the command line (password on stdin, as an operator would), starts the daemon
on port 0, reads the bound port from --port-file and stops it with SIGTERM.
The daemon's whole stderr is kept in a file so tests can grep it.
"""
import json
import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path

import requests

BUILD_DIR = Path(os.environ.get("ZAULEK_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))
SOURCE_DIR = Path(os.environ.get("ZAULEK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
ZAULEKD = BUILD_DIR / "server" / "zaulekd"

ROLES = ("operator", "administrator", "investigator")
# One user per role in the standard daemon.
ROLE_USERS = {"operator": "olga", "administrator": "adam", "investigator": "iwona"}


def wait_until(what, pred, limit_s=30, step=0.05, detail=None):
    """Polls pred() every `step` s until it returns something truthy, which it
    returns; after limit_s raises an AssertionError naming `what`, pred's last
    value and detail() if given (a log tail, say). The one bounded wait of the
    integration tests: they wait for a state, a log line or a counter, never
    for a fixed time."""
    deadline = time.monotonic() + limit_s
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            more = f"\n{detail()}" if detail else ""
            raise AssertionError(f"{what}: not seen within {limit_s} s (last: {last!r}){more}")
        time.sleep(step)


def run_cli(args, stdin_text=None, timeout=30):
    return subprocess.run([str(ZAULEKD), *args], input=stdin_text, capture_output=True,
                          text=True, timeout=timeout)


# The lowest Argon2id cost the daemon accepts (OWASP's minimum, 19 MiB and two
# passes): what every test daemon hashes with. There is no cheaper switch.
HASH_FLOOR = {"password_hash_memory_kib": 19 * 1024, "password_hash_iterations": 2}


class Zaulekd:
    def __init__(self, tmp_path, server=None, auth=None, extra_toml="", tls=None, storage=None):
        self.dir = Path(tmp_path)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / "zaulekd.toml"
        self.port_file = self.dir / "port"
        self.stderr_path = self.dir / "zaulekd.stderr"
        self.proc = None
        self.port = None
        self.tls = tls  # (cert, key) paths or None
        self.passwords = {}  # user -> password, for the secrets-in-logs check
        self.tokens = []
        srv = {"listen": "127.0.0.1:0", "threads": 2, "read_timeout_s": 5,
               "idle_timeout_s": 10}
        srv.update(server or {})
        if tls:
            srv["tls_cert"], srv["tls_key"] = str(tls[0]), str(tls[1])
        au = {"login_max_failures": 5, "login_window_s": 300, **HASH_FLOOR}
        au.update(auth or {})
        lines = ["[server]"] + [f"{k} = {toml(v)}" for k, v in srv.items()]
        lines += ["[auth]"] + [f"{k} = {toml(v)}" for k, v in au.items()]
        st = {"path": str(self.dir / "storage")}
        st.update(storage or {})
        lines += ["[storage]"] + [f"{k} = {toml(v)}" for k, v in st.items()]
        # Retention by free space looks at the host's disk, which the tests do
        # not own: off unless a test sets it (test_recording_daemon does).
        if "min_free_percent" not in extra_toml:
            if "[retention]" in extra_toml:
                extra_toml = extra_toml.replace("[retention]", "[retention]\nmin_free_percent = 0", 1)
            else:
                extra_toml += "\n[retention]\nmin_free_percent = 0\n"
        lines += ["[log]", 'level = "debug"', extra_toml]
        self.config_path.write_text("\n".join(lines) + "\n")

    # --- users -----------------------------------------------------------
    def add_user(self, name, role, password=None):
        password = password or f"pw-{name}-{secrets.token_hex(8)}"
        r = run_cli(["--config", str(self.config_path), "user", "add", name, "--role", role],
                    stdin_text=password + "\n")
        assert r.returncode == 0, f"user add failed: {r.stderr}"
        self.passwords[name] = password
        return password

    # --- process ---------------------------------------------------------
    def start(self, timeout=15):
        if self.port_file.exists():
            self.port_file.unlink()
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [str(ZAULEKD), "--config", str(self.config_path), "--port-file", str(self.port_file)],
            stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.port_file.exists():
                text = self.port_file.read_text().strip()
                if text:
                    self.port = int(text)
                    return self
            if self.proc.poll() is not None:
                raise AssertionError(f"zaulekd exited {self.proc.returncode}: {self.stderr()}")
            time.sleep(0.02)
        raise AssertionError("zaulekd did not report its port in time")

    def stop(self, timeout=5.0):
        """SIGTERM; returns (exit code, seconds taken). Kills if it overstays."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        self._stderr.close()
        return code, time.monotonic() - t0

    def stderr(self):
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    # --- HTTP ------------------------------------------------------------
    @property
    def scheme(self):
        return "https" if self.tls else "http"

    def url(self, path):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def login(self, name, password=None):
        r = requests.post(self.url("/api/v1/auth/login"),
                          json={"username": name, "password": password or self.passwords[name]},
                          timeout=10, verify=self.verify)
        assert r.status_code == 200, r.text
        body = r.json()
        self.tokens.append(body["token"])
        return body

    def bearer(self, name):
        return {"Authorization": "Bearer " + self.login(name)["token"]}

    def metric(self, name):
        """The value of an unlabelled counter or gauge from GET /metrics (loopback)."""
        text = requests.get(self.url("/metrics"), timeout=10, verify=self.verify).text
        m = re.search(rf"^{re.escape(name)} (\d+(?:\.\d+)?)$", text, re.M)
        assert m, f"{name} not in /metrics"
        return int(float(m.group(1)))

    @property
    def verify(self):
        return str(self.tls[0]) if self.tls else True


def toml(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v)
