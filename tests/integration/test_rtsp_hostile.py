"""A hostile RTSP camera fails alone: the simulator's rtsp_garbage fault makes
one camera answer malformed replies (bare CRLFCRLF, no status, absurd and
negative Content-Length, a Basic challenge, a 20 KiB challenge, interleaved
data first, an endless header line, binary noise; docs/simulator.md). zaulekd
records two healthy cameras beside it: the daemon stays up, the hostile
camera is in backoff with the parser's reason, the healthy ones keep writing
segments, a console stays connected, and no Basic credentials are sent.
zaulek-record --ingest native against every kind: each fails the camera with
its reason, the process ends normally (no signal)."""
import json
import os
import re
import signal
import subprocess
import threading

import requests
import websocket

from camera_helpers import (FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns,
                            recording_of, wait_log)
from simfleet import SimFleet, build_dir
from zaulekd_fixture import wait_until

enter_netns()

USER = "hostadmin"
PASSWORD = "Hostile-Secret-7d21e0"
SEGMENT_S = 5  # the shortest zaulekd allows
HOSTILE = 2  # sim camera index; 0 and 1 are healthy

# The client's reason for each kind, in the simulator's cycle order.
REASONS = {
    "bare_crlf": "neither an RTSP answer nor interleaved data",
    "no_status": "not an RTSP status line",
    "huge_content_length": "Content-Length 1099511627776 over the 64 KiB limit",
    "negative_content_length": "Content-Length is not a number",
    "basic_challenge": "asks for Basic authentication (password in clear)",
    "huge_challenge": "RTSP answer head over 16 KiB",
    "interleaved_first": "the SDP has no video",
    "endless_line": "RTSP answer head over 16 KiB",
    "binary_noise": "neither an RTSP answer nor interleaved data",
}
KINDS = list(REASONS)


def hostile_faults(sim):
    status, body = sim.request("GET", f"/sim/cameras/{HOSTILE}/faults")
    assert status == 200, body
    return body


def wait_answers(sim, count, alive, limit_s=180):
    """Polls (bounded) until the hostile camera has sent `count` malformed
    answers, calling alive() on each round; returns its faults."""
    def answered():
        alive()
        f = hostile_faults(sim)
        return f if f["rtsp_garbage_answers"] >= count else None
    return wait_until(f"{count} malformed answers", answered, limit_s, step=0.25,
                      detail=lambda: hostile_faults(sim))


class Console:
    """A WebSocket console read on a thread of its own (as a browser would:
    it answers the server's pings), keeping every message."""

    def __init__(self, d, headers):
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{d.port}/api/v1/ws", timeout=10,
                                              header=["Authorization: " + headers["Authorization"]])
        self.messages = []
        self.closed = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            while True:
                self.ws.settimeout(None)
                self.messages.append(json.loads(self.ws.recv()))
        except Exception as e:  # noqa: BLE001 - any end of the connection is recorded
            self.closed = repr(e)

    def wait_for(self, pred, limit_s=10):
        def received():
            assert self.closed is None, f"console disconnected: {self.closed}"
            return any(pred(m) for m in list(self.messages))
        wait_until("the message on the console", received, limit_s,
                   detail=lambda: f"got types {[m.get('type') for m in self.messages]}")

    def close(self):
        self.ws.close()
        self.thread.join(timeout=5)


def test_daemon_records_healthy_cameras_beside_a_hostile_one(make_daemon):
    d = make_daemon(extra_toml=FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n"
                    f"[recording]\nsegment_seconds = {SEGMENT_S}\n")
    h = admin_headers(d)
    with SimFleet(cameras=3, user=USER, password=PASSWORD) as sim:
        sim.set_faults(HOSTILE, rtsp_garbage=True)
        console = Console(d, h)
        console.wait_for(lambda m: m.get("type") == "hello")
        ids = []
        for cam in sim.cameras:
            r, _ = add_camera(d, h, cam["onvif_url"], USER, PASSWORD)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        healthy, hostile = ids[:HOSTILE], ids[HOSTILE]

        def alive():
            assert d.proc.poll() is None, f"zaulekd exited {d.proc.returncode}:\n" \
                                          f"{d.stderr()[-3000:]}"

        # Everyone connected once: the healthy ones record.
        wait_answers(sim, 1, alive)
        wait_until("a segment of every healthy camera", lambda: alive() or all(
            recording_of(d, c, h)["segments"] >= 1 for c in healthy), 60, step=0.25)
        before = {c: recording_of(d, c, h)["segments"] for c in healthy}
        assert all(n >= 1 for n in before.values()), before

        # Five malformed answers (the backoff doubles from 1 s): the first
        # five kinds, the one that used to abort the process first.
        faults = wait_answers(sim, 5, alive)
        for kind in KINDS[:5]:
            wait_log(d, re.escape(f"camera {hostile}: pipeline ended: ") + ".*" +
                     re.escape(REASONS[kind]), timeout=30)
        alive()
        assert faults["rtsp_garbage_basic_credentials"] == 0, faults

        rec = recording_of(d, hostile, h)
        assert rec["state"] in ("backoff", "connecting"), rec
        if rec["state"] != "backoff":
            rec = wait_until("the hostile camera in backoff", lambda: (
                r if (r := recording_of(d, hostile, h))["state"] == "backoff" else None), 30,
                step=0.1)
        assert rec["state"] == "backoff" and rec["state_detail"], rec
        assert any(r in rec["state_detail"] for r in REASONS.values()), rec
        assert d.metric("zaulek_recording_cameras_backoff") == 1
        # Four of the five were answers the parsers refused (the fifth, Basic,
        # is refused by policy): counted as contained camera faults.
        text = requests.get(d.url("/metrics"), headers=h, timeout=10).text
        refused = re.search(r'^zaulek_camera_faults_total\{kind="rtsp_answer"\} (\d+)$', text, re.M)
        assert refused and int(refused.group(1)) >= 4, text[-3000:]

        # The healthy cameras record on through the hostile cycles: two more
        # segments each (bounded wait), never out of "recording".
        def two_more():
            alive()
            now = {c: recording_of(d, c, h) for c in healthy}
            for c, st in now.items():
                assert st["state"] == "recording", (c, st)
            return now if all(st["segments"] >= before[c] + 2 for c, st in now.items()) else None
        now = wait_until("two more segments of every healthy camera", two_more, 60, step=0.25,
                         detail=lambda: before)
        assert all(st["segments"] >= before[c] + 2 for c, st in now.items()), (before, now)
        assert d.metric("zaulek_recording_cameras_recording") == 2

        # The console is still connected and live: an audited change reaches it.
        r = requests.post(d.url("/api/v1/users"), headers=h,
                          json={"name": "witness", "password": "password-witness",
                                "role": "operator"}, timeout=10)
        assert r.status_code == 201, r.text
        console.wait_for(lambda m: m.get("type") == "audit" and "witness" in json.dumps(m))
        console.close()
        assert hostile_faults(sim)["rtsp_garbage_basic_credentials"] == 0
    code, _ = d.stop()
    assert code == 0
    assert PASSWORD not in d.stderr()


def record_bin():
    return os.path.join(build_dir(), "media", "zaulek-record")


def run_record(tmp_path, url, until, *extra):
    """zaulek-record --ingest native on url until until() holds (bounded),
    then SIGINT; returns (exit code, stderr)."""
    env = dict(os.environ, ZAULEK_RECORD_PASSWORD=PASSWORD)
    err_path = tmp_path / "record.stderr"
    with open(err_path, "wb") as err:
        p = subprocess.Popen(
            [record_bin(), "--out", str(tmp_path / "out"), "--ingest", "native", "--user", USER,
             "--backoff-ms", "20", "--backoff-max-ms", "40", "--stall-ms", "2000", *extra,
             f"hostile={url}"], stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            def reached():
                if until():
                    return True
                assert p.poll() is None, f"zaulek-record ended {p.returncode}:\n" \
                                         f"{err_path.read_text(errors='replace')[-3000:]}"
            wait_until("the condition on zaulek-record", reached, 120, step=0.1)
            p.send_signal(signal.SIGINT)
            code = p.wait(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    return code, err_path.read_text(errors="replace")


def test_zaulek_record_fails_each_malformed_answer_cleanly(tmp_path):
    with SimFleet(cameras=3, user=USER, password=PASSWORD) as sim:
        sim.set_faults(HOSTILE, rtsp_garbage=True)
        url = sim.cameras[HOSTILE]["rtsp_main"]
        # Two whole cycles through every kind.
        code, err = run_record(
            tmp_path, url,
            lambda: hostile_faults(sim)["rtsp_garbage_answers"] >= 2 * len(KINDS) + 1)
        assert code == 0, f"zaulek-record exit {code} (negative: a signal):\n{err[-3000:]}"
        for kind, reason in REASONS.items():
            assert f"pipeline ended: {reason}" in err or \
                re.search(r"pipeline ended: .*" + re.escape(reason), err), (kind, err[-3000:])
        assert PASSWORD not in err
        assert hostile_faults(sim)["rtsp_garbage_basic_credentials"] == 0

        # Basic allowed for this camera: the client answers the challenge
        # (and the hostile camera sees the credentials it asked for).
        sim.set_faults(HOSTILE, rtsp_garbage="basic_challenge")
        code, err = run_record(
            tmp_path, url, lambda: hostile_faults(sim)["rtsp_garbage_basic_credentials"] >= 1,
            "--allow-basic")
        assert code == 0, err[-3000:]
        assert "asks for Basic authentication" not in err
        assert PASSWORD not in err
