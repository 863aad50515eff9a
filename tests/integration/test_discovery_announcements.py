"""WS-Discovery Hello and Bye heard by zaulekd (in a network namespace of the
test's own, see camera_helpers.enter_netns): the simulator's Hello puts its
cameras on GET /api/v1/discovery/devices, its Bye takes them off; a known
camera that comes back with the same endpoint reference at another address
(a new DHCP lease: here 127.0.0.2 instead of 127.0.0.1) is followed there
without any scan — onvif_url and stream URIs updated, online again, a
camera.moved audit row by "system"."""
import time

import requests

from camera_helpers import (FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns,
                            free_base_port)
from simfleet import SimFleet

enter_netns()

USER = "helloadmin"
PASSWORD = "Hello-Secret-7310"
N = 3


def devices(d, h):
    r = requests.get(d.url("/api/v1/discovery/devices"), headers=h, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["devices"]


def wait_until(what, fn, limit_s=30):
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < limit_s:
        last = fn()
        if last:
            return time.monotonic() - t0
        time.sleep(0.1)
    raise AssertionError(f"{what} not seen within {limit_s} s (last: {last})")


def camera(d, h, cam_id):
    r = requests.get(d.url(f"/api/v1/cameras/{cam_id}"), headers=h, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_hello_bye_and_a_camera_followed_to_its_new_address(make_daemon):
    d = make_daemon(extra_toml=FAST_CAMERAS_TOML + '\n[discovery]\ninterfaces = ["lo"]\n')
    h = admin_headers(d)
    assert "listening for Hello/Bye" in d.stderr(), d.stderr()[-2000:]
    assert devices(d, h) == []
    base = free_base_port(N)
    first = SimFleet(cameras=N, user=USER, password=PASSWORD,
                     extra_args=["--base-port", str(base)])
    try:
        took = wait_until("3 devices by Hello",
                          lambda: len([x for x in devices(d, h) if x["via"] == "hello"]) == N)
        print(f"Hello of {N} cameras listed after {took:.2f} s")
        listed = {x["endpoint"]: x for x in devices(d, h)}
        by_url = {c["onvif_url"]: c for c in first.cameras}
        for x in listed.values():
            assert x["known"] is False and x["camera_id"] is None
            assert x["xaddrs"][0] in by_url
            assert x["name"] == by_url[x["xaddrs"][0]]["name"]
        target = next(x for x in listed.values()
                      if x["xaddrs"][0] == first.cameras[0]["onvif_url"])
        r, _ = add_camera(d, h, target["xaddrs"][0], USER, PASSWORD,
                          endpoint=target["endpoint"],
                          recording={"mode": "off", "retention_days": 7})
        assert r.status_code == 201, r.text
        cam_id = r.json()["id"]
        assert "127.0.0.1" in r.json()["streams"][0]["rtsp_uri"]
        assert any(x["camera_id"] == cam_id and x["known"] for x in devices(d, h))
    finally:
        first.stop()  # SIGTERM: every camera says Bye
    took = wait_until("every device gone by Bye", lambda: devices(d, h) == [])
    print(f"Bye of {N} cameras removed them after {took:.2f} s")
    wait_until("camera offline", lambda: camera(d, h, cam_id)["status"] == "offline")

    # Same endpoints (same --base-port), another address.
    with SimFleet(cameras=N, user=USER, password=PASSWORD,
                  extra_args=["--base-port", str(base), "--bind", "127.0.0.2"]) as second:
        new_url = second.cameras[0]["onvif_url"]
        assert "127.0.0.2" in new_url
        took = wait_until("camera followed and online", lambda: (
            lambda c: c["onvif_url"] == new_url and c["status"] == "online")(camera(d, h, cam_id)))
        print(f"camera followed to {new_url} and online {took:.2f} s after the Hello")
        wait_until("stream URIs refreshed",
                   lambda: all("127.0.0.2" in s["rtsp_uri"]
                               for s in camera(d, h, cam_id)["streams"]))
        moved = [e for e in requests.get(d.url("/api/v1/audit"), headers=h,
                                         params={"limit": 1000}, timeout=10).json()["entries"]
                 if e["action"] == "camera.moved"]
        assert len(moved) == 1, moved
        assert moved[0]["actor"] == "system"
        assert moved[0]["target"] == f"camera:{cam_id}"
        assert moved[0]["detail"]["to"] == new_url
        assert moved[0]["detail"]["via"] == "hello"
        assert moved[0]["detail"]["endpoint"] == target["endpoint"]
        assert "moved from" in d.stderr()
        assert PASSWORD not in d.stderr()
        # Listing is for administrators only.
        assert requests.get(d.url("/api/v1/discovery/devices"), headers=d.bearer("olga"),
                            timeout=10).status_code == 403


def test_garbage_on_the_group_is_ignored(make_daemon):
    """Datagrams that are not Hello/Bye (garbage, a Probe, a forged Hello
    without endpoint) reach the daemon's group socket and are ignored."""
    import socket
    d = make_daemon(extra_toml=FAST_CAMERAS_TOML + '\n[discovery]\ninterfaces = ["lo"]\n')
    h = admin_headers(d)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    hello_no_endpoint = (
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Body><d:Hello>'
        b'<d:XAddrs>http://127.0.0.9/onvif/device_service</d:XAddrs></d:Hello></s:Body></s:Envelope>')
    for payload in (b"", b"\x00" * 100, b"<Envelope>" * 500, hello_no_endpoint,
                    b"<?xml version='1.0'?><a/>", bytes(range(256)) * 200):
        s.sendto(payload[:65000], ("239.255.255.250", 3702))
    s.close()
    time.sleep(0.5)
    assert devices(d, h) == []
    assert requests.get(d.url("/healthz"), timeout=5).status_code == 200
