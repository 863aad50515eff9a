"""Shared by tests/integration/test_cameras_*.py.

enter_netns() moves this pytest process (and so every simulator and daemon it
starts) into a network namespace of its own with only a loopback that has
multicast on and a route for 239.0.0.0/8: WS-Discovery multicast works there,
UDP 3702 and the simulator's fixed ports collide with nobody else's tests,
and nothing leaves the machine. It needs root (CAP_SYS_ADMIN); the camera
tests fail (never skip) without it.
"""
import ctypes
import os
import re
import subprocess
import time

import requests

from zaulekd_fixture import wait_until

CLONE_NEWNET = 0x40000000
_in_netns = False

# Short supervision so that status changes show within seconds.
FAST_CAMERAS_TOML = """
[cameras]
health_interval_ms = 500
retry_max_ms = 1000
onvif_timeout_ms = 1000
"""


def enter_netns():
    global _in_netns
    if _in_netns:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise AssertionError(f"unshare(CLONE_NEWNET) failed: {os.strerror(err)} (run as root)")
    for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "link", "set", "lo", "multicast", "on"],
                ["ip", "route", "add", "239.0.0.0/8", "dev", "lo"]):
        subprocess.run(cmd, check=True, capture_output=True)
    _in_netns = True


def free_base_port(cameras, start=20000):
    """A base port P such that P-1 .. P+2N-1 are free on 127.0.0.1 (TCP and UDP)."""
    import socket
    for base in range(start, 60000, 2 * cameras + 10):
        ok = True
        for port in range(base - 1, base + 2 * cameras):
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(socket.AF_INET, kind)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                finally:
                    s.close()
            if not ok:
                break
        if ok:
            return base
    raise AssertionError("no free port range")


def admin_headers(daemon):
    return daemon.bearer("adam")


def add_camera(daemon, headers, url, username, password, **extra):
    body = {"onvif_url": url, "username": username, "password": password}
    body.update(extra)
    t0 = time.monotonic()
    r = requests.post(daemon.url("/api/v1/cameras"), headers=headers, json=body, timeout=60)
    return r, time.monotonic() - t0


def cameras(daemon, headers):
    r = requests.get(daemon.url("/api/v1/cameras"), headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["cameras"]


def wait_statuses(daemon, headers, want, count, limit_s=60):
    """Polls GET /api/v1/cameras (bounded) until `count` cameras have status
    `want`; returns the seconds it took."""
    t0 = time.monotonic()
    last = []

    def all_want():
        cams = cameras(daemon, headers)
        last[:] = [(c["id"], c["status"]) for c in cams]
        return len(cams) == count and all(c["status"] == want for c in cams)
    wait_until(f"all {count} cameras {want}", all_want, limit_s, step=0.2, detail=lambda: last)
    return time.monotonic() - t0


def wait_log(daemon, pattern, count=1, timeout=60):
    """Polls the daemon's log (bounded) until `pattern` shows `count` times;
    returns the matches."""
    def found():
        got = re.findall(pattern, daemon.stderr())
        return got if len(got) >= count else None
    return wait_until(f"{count}x {pattern!r} in the log", found, timeout,
                      detail=lambda: daemon.stderr()[-3000:])


def recording_of(daemon, camera_id, headers):
    """The camera's recorder as GET /api/v1/cameras/{id} shows it."""
    r = requests.get(daemon.url(f"/api/v1/cameras/{camera_id}"), headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["recording"]


def wait_buffered(daemon, headers, camera_id, seconds):
    """Until an events-mode camera's recorder has had frames for `seconds`
    (state "recording" since recording.state_since) without writing any
    (frames == 0): its pre-event buffer holds that much footage, which only
    time makes."""
    def buffered():
        rec = recording_of(daemon, camera_id, headers)
        assert rec.get("frames", 0) == 0, f"events mode wrote before any event: {rec}"
        return (rec["state"] == "recording"
                and time.time() - parse_time(rec["state_since"]) >= seconds)
    wait_until(f"{camera_id}: {seconds} s of footage buffered", buffered, 60, step=0.1,
               detail=lambda: recording_of(daemon, camera_id, headers))


def parse_time(text):
    """RFC 3339 (with Z) as seconds since the epoch."""
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def list_events(d, headers, params):
    """One GET /api/v1/events, its events. No polling: zaulekd waits (bounded)
    until the rows of every event already published are written, so an event
    a console has just received is listed (docs/events.md)."""
    r = requests.get(d.url("/api/v1/events"), headers=headers, params=params, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["events"]
