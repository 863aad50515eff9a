"""A burst the server itself publishes faster than one console write
completes must not close the consoles: zaulekd is stopped (SIGSTOP, as when
its CPU is taken) while ten simulated cameras fire 1,000 events, then
continued; the events arrive as a few PullMessages replies at once and go
out to 20 consoles that keep reading. Every console gets all 1,000, in seq
order, and no session is closed as too slow (the bound applies to a console
whose socket the kernel cannot empty: test_ws_overflow)."""
import json
import re
import signal
import socket
import threading
import time

import requests
import websocket

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns, wait_log
from simfleet import SimFleet
from zaulekd_fixture import ROLE_USERS, wait_until

enter_netns()

USER = "burstcam"
PASSWORD = "Burst-Secret-5d1f"
CAMERAS = 10
PER_CAMERA = 100  # 1,000 events: about twice a console's queue bound (512)
CONSOLES = 20


class Console:
    """A console that keeps reading (its own thread), with ?batch=1. Its
    receive buffer holds the whole burst (1 MiB), so that a reader thread
    that waits a moment for the GIL is not a console that stopped reading."""

    def __init__(self, d):
        h = d.bearer(ROLE_USERS["operator"])
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{d.port}/api/v1/ws?batch=1", timeout=5,
            header=["Authorization: " + h["Authorization"]],
            sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20),))
        assert json.loads(self.ws.recv())["type"] == "hello"
        self.events, self.seqs, self.closed = [], [], None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        self.ws.settimeout(0.5)
        while not self.stop.is_set():
            try:
                frame = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except websocket.WebSocketConnectionClosedException:
                self.closed = "connection closed"
                return
            if not frame:  # a close frame
                self.closed = "close frame"
                return
            data = json.loads(frame)
            for m in data if isinstance(data, list) else [data]:
                self.seqs.append(m["seq"])
                if m["type"] == "event" and m["kind"] == "line_crossing":
                    self.events.append(m["id"])

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.ws.close()


def test_a_burst_from_the_server_does_not_close_reading_consoles(make_daemon):
    with SimFleet(cameras=CAMERAS, user=USER, password=PASSWORD) as sim:
        d = make_daemon(extra_toml=FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n")
        h = admin_headers(d)
        for cam in sim.cameras:
            r, _ = add_camera(d, h, cam["onvif_url"], USER, PASSWORD,
                              recording={"mode": "off", "retention_days": 30})
            assert r.status_code == 201, r.text
        wait_log(d, r"events \S+: subscribed", count=CAMERAS)
        consoles = [Console(d) for _ in range(CONSOLES)]
        assert d.metric("zaulek_ws_overflow_closes_total") == 0

        d.proc.send_signal(signal.SIGSTOP)
        try:
            control = requests.Session()
            t0 = time.monotonic()
            for i in range(PER_CAMERA):
                for cam in range(CAMERAS):
                    r = control.post(f"{sim.control_url}/sim/cameras/{cam}/events",
                                     json={"kind": "line_crossing", "state": True}, timeout=10)
                    assert r.status_code == 200, r.text
            fired = time.monotonic() - t0
        finally:
            d.proc.send_signal(signal.SIGCONT)

        want = CAMERAS * PER_CAMERA
        try:
            wait_until(f"{want} events (or a close) on every console",
                       lambda: all(len(c.events) >= want or c.closed for c in consoles), 30,
                       detail=lambda: [len(c.events) for c in consoles])
        finally:
            for c in consoles:
                c.close()
        print(f"fired {want} events in {fired:.2f} s with zaulekd stopped; received " +
              ", ".join(str(len(c.events)) for c in consoles))
        ws_log = [x for x in re.findall(r".*ws: .*", d.stderr()) if "connected" not in x]
        assert [c.closed for c in consoles] == [None] * CONSOLES, ws_log
        for c in consoles:
            assert len(c.events) == want, (len(c.events), want)
            assert len(set(c.events)) == want  # each event once
            assert c.seqs == list(range(c.seqs[0], c.seqs[0] + len(c.seqs))), "seq gaps"
        assert d.metric("zaulek_ws_overflow_closes_total") == 0
        assert not re.search(r"fell behind", d.stderr())
