"""Discovery and supervision of a 20-camera simulated fleet, inside a network
namespace of the test's own (see camera_helpers.enter_netns): WS-Discovery by
multicast on lo and by unicast, all 20 added, the simulator killed -> every
camera offline -> restarted on the same ports -> online again, each change
seen on the WebSocket."""
import json
import threading
import time

import requests
import websocket

from camera_helpers import (FAST_CAMERAS_TOML, add_camera, admin_headers, cameras, enter_netns,
                            free_base_port, wait_statuses)
from simfleet import SimFleet
from zaulekd_fixture import wait_until

enter_netns()

N = 20
USER = "fleetadmin"
PASSWORD = "Fleet-Secret-5521"


def scan(d, h, **body):
    t0 = time.monotonic()
    r = requests.post(d.url("/api/v1/discovery/scan"), headers=h, json=body, timeout=60)
    assert r.status_code == 200, r.text
    return r.json(), time.monotonic() - t0


def endpoints(devices):
    return {dev["endpoint"] for dev in devices}


def test_discovery_multicast_and_unicast(make_daemon):
    multicast = make_daemon(extra_toml=FAST_CAMERAS_TOML + '\n[discovery]\ninterfaces = ["lo"]\n')
    unicast = make_daemon(extra_toml=FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n")
    with SimFleet(cameras=N, user=USER, password=PASSWORD) as sim:
        log = sim.log()
        assert "(multicast)" in log, log  # the responder joined the group on lo
        want = {c["onvif_url"] for c in sim.cameras}

        hm = admin_headers(multicast)
        found, took = scan(multicast, hm, timeout_ms=1500)
        print(f"multicast scan: {len(found['devices'])} devices in {took:.2f} s")
        assert found["multicast"] is True
        assert len(found["devices"]) == N, found
        assert {dev["xaddrs"][0] for dev in found["devices"]} == want
        assert len(endpoints(found["devices"])) == N
        names = {dev["name"] for dev in found["devices"]}
        assert names == {c["name"] for c in sim.cameras}
        assert all(dev["hardware"] and dev["known"] is False for dev in found["devices"])

        hu = admin_headers(unicast)
        found_u, took = scan(unicast, hu, timeout_ms=1500, targets=["127.0.0.1"])
        print(f"unicast scan: {len(found_u['devices'])} devices in {took:.2f} s")
        assert found_u["multicast"] is False
        assert endpoints(found_u["devices"]) == endpoints(found["devices"])

        # Duplicated answers (3 ProbeMatches per Probe from camera 0) are merged.
        sim.set_faults(0, duplicate_discovery=3)
        again, _ = scan(unicast, hu, timeout_ms=1000, targets=["127.0.0.1"])
        assert len(again["devices"]) == N

        # Nobody at a target: an empty list, not an error.
        empty, _ = scan(unicast, hu, timeout_ms=300, targets=["127.0.0.2:3999"])
        assert empty["devices"] == []

        bad = requests.post(unicast.url("/api/v1/discovery/scan"), headers=hu,
                            json={"targets": ["camera.example"]}, timeout=10)
        assert bad.status_code == 400
        assert requests.post(unicast.url("/api/v1/discovery/scan"),
                             headers=unicast.bearer("olga"), json={},
                             timeout=10).status_code == 403


def test_twenty_cameras_added_killed_offline_restarted_online(make_daemon):
    d = make_daemon(extra_toml=FAST_CAMERAS_TOML + '\n[discovery]\ninterfaces = ["lo"]\n')
    h = admin_headers(d)
    base = free_base_port(N)
    args = ["--base-port", str(base)]
    ws = websocket.create_connection(f"ws://127.0.0.1:{d.port}/api/v1/ws",
                                     header=["Authorization: Bearer " + d.login("olga")["token"]],
                                     timeout=10)
    hello = json.loads(ws.recv())
    assert hello["type"] == "hello"
    # A reader thread keeps the console alive (ping when quiet: the daemon's
    # idle timeout is 10 s here) and collects every message.
    messages, stop = [], threading.Event()

    def reader():
        ws.settimeout(1.0)
        while not stop.is_set():
            try:
                messages.append(json.loads(ws.recv()))
            except websocket.WebSocketTimeoutException:
                ws.send(json.dumps({"type": "ping"}))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()

    sim = SimFleet(cameras=N, user=USER, password=PASSWORD, extra_args=args)
    try:
        found, _ = scan(d, h, timeout_ms=1500)
        assert len(found["devices"]) == N
        t0 = time.monotonic()
        ids = []
        for dev in found["devices"]:
            r, _ = add_camera(d, h, dev["xaddrs"][0], USER, PASSWORD, endpoint=dev["endpoint"])
            assert r.status_code == 201, r.text
            assert r.json()["endpoint"] == dev["endpoint"]
            ids.append(r.json()["id"])
        print(f"20 cameras added in {time.monotonic() - t0:.2f} s")
        assert len(set(ids)) == N
        after, _ = scan(d, h, timeout_ms=1000)
        assert all(dev["known"] for dev in after["devices"]), after
        wait_statuses(d, h, "online", N)
    finally:
        t_kill = time.monotonic()
        sim.proc.kill()  # SIGKILL: no Bye, sockets just vanish
        sim.stop()
    wait_statuses(d, h, "offline", N)
    print(f"simulator killed: all {N} offline {time.monotonic() - t_kill:.2f} s after SIGKILL")
    reasons = {c["status_reason"] for c in cameras(d, h)}
    assert all("camera at 127.0.0.1:" in r for r in reasons), reasons

    sim = SimFleet(cameras=N, user=USER, password=PASSWORD, extra_args=args)
    try:
        took = wait_statuses(d, h, "online", N)
        print(f"simulator restarted: all {N} online after {took:.2f} s")
    finally:
        sim.stop()

    # Every camera went added -> offline -> online on the WebSocket, in seq order.
    def transitions():
        seen = {}
        for m in list(messages):
            if m.get("type") == "camera":
                seen.setdefault(m["camera_id"], []).append(m["status"])
        return seen

    try:
        wait_until("online, offline, online on the WebSocket for every camera", lambda: all(
            transitions().get(i, [])[:3] == ["online", "offline", "online"] for i in ids), 20,
            step=0.1, detail=transitions)
    finally:
        stop.set()
        thread.join(timeout=5)
        ws.close()
    seen = transitions()
    seqs = [m["seq"] for m in messages if m.get("type") == "camera"]
    print(f"{len(seqs)} camera messages on the WebSocket")
    for i in ids:
        st = seen.get(i, [])
        # added (online), killed, restarted (then offline again: the test stopped it).
        assert st[:3] == ["online", "offline", "online"], (i, st)
    assert seqs == sorted(seqs)
    d.stop()
    assert PASSWORD not in d.stderr()
