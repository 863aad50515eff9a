"""Slow calls never delay fast ones, against the real zaulekd: discovery
scans, onboarding and login run on the slow pool (server/http/slow_pool.h),
not on the two HTTP workers. With two scans in flight, /healthz and an alarm
acknowledgement answer before either scan does (an ordering, not a time
limit); with the pool full (two onboardings held by a peer on loopback that
accepts and never answers), a login gets 503 with Retry-After and is counted
in /metrics, while /healthz still answers; once the peer lets go, the login
succeeds."""
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns, wait_log
from simfleet import SimFleet
from zaulekd_fixture import ROLE_USERS, wait_until

enter_netns()

USER = "slowadmin"
PASSWORD = "Slow-Secret-41c9e2"
RULES_TOML = """
[[rules]]
id = "motion"
kinds = ["motion"]
priority = 3
"""
# A scan lasts its whole window (replies are collected until it closes):
# long enough that the fast calls below, made while both scans are seen in
# flight, are answered first on any machine that runs the suite.
SCAN_MS = 12000


def metric(d, name):
    text = requests.get(d.url("/metrics"), timeout=10).text
    m = re.search(rf"^{re.escape(name)} (\d+)$", text, re.M)
    assert m, f"{name} not in /metrics"
    return int(m.group(1))


def test_healthz_and_ack_answer_while_two_scans_run(make_daemon):
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        d = make_daemon(extra_toml=FAST_CAMERAS_TOML + RULES_TOML)
        admin = admin_headers(d)
        r, _ = add_camera(d, admin, sim.cameras[0]["onvif_url"], USER, PASSWORD,
                          recording={"mode": "off", "retention_days": 30})
        assert r.status_code == 201, r.text
        cam_id = r.json()["id"]
        wait_log(d, rf"events {re.escape(cam_id)}: subscribed")
        sim.post_event(0, "motion", True)
        operator = d.bearer(ROLE_USERS["operator"])

        def open_alarm():
            r = requests.get(d.url("/api/v1/alarms"), params={"state": "open"},
                             headers=operator, timeout=10)
            return [a for a in r.json()["alarms"] if a["camera_id"] == cam_id]
        alarm_id = wait_until("the motion alarm", open_alarm)[0]["id"]

        with ThreadPoolExecutor(2) as pool:
            scans = [pool.submit(requests.post, d.url("/api/v1/discovery/scan"), headers=admin,
                                 json={"timeout_ms": SCAN_MS, "targets": ["127.0.0.1"]},
                                 timeout=SCAN_MS / 1000 + 30)
                     for _ in range(2)]
            wait_until("both scans on the slow pool",
                       lambda: metric(d, "zaulek_http_slow_requests") == 2)
            health = requests.get(d.url("/healthz"), timeout=30)
            health_first = not any(s.done() for s in scans)
            ack = requests.post(d.url(f"/api/v1/alarms/{alarm_id}/ack"), headers=operator,
                                timeout=30)
            ack_first = not any(s.done() for s in scans)
            # The server agrees: both scans are still running.
            in_flight = metric(d, "zaulek_http_slow_requests")
            results = [s.result() for s in scans]
        assert health.status_code == 200 and health_first
        assert ack.status_code == 200, ack.text
        assert ack.json()["state"] == "acknowledged" and ack_first
        assert in_flight == 2
        for r in results:
            assert r.status_code == 200, r.text
            assert isinstance(r.json()["devices"], list)
        assert metric(d, "zaulek_http_slow_rejected_total") == 0


class SilentPeer:
    """A TCP server on loopback that accepts connections, reads what they
    send and never answers, until release() closes everything."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.requests = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)
            threading.Thread(target=self._read, args=(c,), daemon=True).start()

    def _read(self, c):
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                chunk = c.recv(65536)
                if not chunk:
                    return
                buf += chunk
            with self.lock:
                self.requests += 1
        except OSError:
            pass

    def release(self):
        self.sock.close()
        with self.lock:
            for c in self.conns:
                c.close()


def test_full_slow_pool_answers_503_and_healthz_still_answers(make_daemon):
    d = make_daemon(server={"slow_threads": 2, "max_slow_requests": 2},
                    extra_toml="[cameras]\nonvif_timeout_ms = 60000\n")
    admin = admin_headers(d)
    peer = SilentPeer()
    url = f"http://127.0.0.1:{peer.port}/onvif/device_service"
    try:
        with ThreadPoolExecutor(2) as pool:
            adds = [pool.submit(requests.post, d.url("/api/v1/cameras"), headers=admin,
                                json={"onvif_url": url, "username": "u", "password": "p"},
                                timeout=120)
                    for _ in range(2)]
            wait_until("both onboardings waiting on the silent peer",
                       lambda: peer.requests >= 2 and metric(d, "zaulek_http_slow_requests") == 2)
            login = requests.post(d.url("/api/v1/auth/login"),
                                  json={"username": ROLE_USERS["operator"],
                                        "password": d.passwords[ROLE_USERS["operator"]]},
                                  timeout=30)
            health = requests.get(d.url("/healthz"), timeout=30)
            still_held = not any(a.done() for a in adds)
            rejected = metric(d, "zaulek_http_slow_rejected_total")
            peer.release()
            results = [a.result() for a in adds]
    finally:
        peer.release()
    assert still_held
    assert login.status_code == 503, login.text
    assert login.headers["Retry-After"] == "2"
    assert login.json()["error"]["code"] == "unavailable"
    assert health.status_code == 200
    assert rejected == 1
    for r in results:
        assert r.status_code >= 400, r.text  # the peer closed without answering
    wait_until("the slow pool to empty", lambda: metric(d, "zaulek_http_slow_requests") == 0)
    d.login(ROLE_USERS["operator"])  # asserts 200
    text = requests.get(d.url("/metrics"), timeout=10).text
    assert re.search(r'^zaulek_http_requests_total\{route="/api/v1/auth/login",method="POST",'
                     r'status="503"\} 1$', text, re.M), text
