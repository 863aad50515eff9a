"""WS-Discovery Hello and Bye heard by zaulekd (in a network namespace of the
test's own, see camera_helpers.enter_netns): the simulator's Hello puts its
cameras on GET /api/v1/discovery/devices, its Bye takes them off. A known
camera that comes back with the same endpoint reference at another address
(a new DHCP lease, or anyone who forges its Hello: here 127.0.0.2 instead of
127.0.0.1) is only proposed: the camera shows the sighting, a camera.sighted
audit row by "system", nothing is sent to the new address; an administrator
moves it (POST /api/v1/cameras/{id}/move), which checks the device there.
Inside discovery.trusted_networks it is followed at once, as before."""
import socket
import time

import requests

from camera_helpers import (FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns,
                            free_base_port)
from simfleet import SimFleet
from zaulekd_fixture import wait_until as wait_for

enter_netns()

USER = "helloadmin"
PASSWORD = "Hello-Secret-7310"
N = 3


def devices(d, h):
    r = requests.get(d.url("/api/v1/discovery/devices"), headers=h, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["devices"]


def wait_until(what, fn, limit_s=30):
    """zaulekd_fixture.wait_until; returns the seconds it took."""
    t0 = time.monotonic()
    wait_for(what, fn, limit_s, step=0.1)
    return time.monotonic() - t0


def camera(d, h, cam_id):
    r = requests.get(d.url(f"/api/v1/cameras/{cam_id}"), headers=h, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def audit(d, h, action):
    r = requests.get(d.url("/api/v1/audit"), headers=h, params={"limit": 1000}, timeout=10)
    assert r.status_code == 200, r.text
    return [e for e in r.json()["entries"] if e["action"] == action]


def hello_datagram(endpoint, xaddr):
    """A Hello as a camera sends it (shape of onvif/client/fuzz/corpus/fuzz_discovery/hello)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><s:Envelope '
        'xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
        '<a:MessageID>uuid:forged-1</a:MessageID>'
        '<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>'
        '<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</a:Action>'
        '</s:Header><s:Body><d:Hello><a:EndpointReference><a:Address>' + endpoint +
        '</a:Address></a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>'
        '<d:XAddrs>' + xaddr + '</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>'
        '</d:Hello></s:Body></s:Envelope>').encode()


def send_hello(endpoint, xaddr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    s.sendto(hello_datagram(endpoint, xaddr), ("239.255.255.250", 3702))
    s.close()


def add_one_by_hello(d, h, fleet):
    took = wait_until(f"{N} devices by Hello",
                      lambda: len([x for x in devices(d, h) if x["via"] == "hello"]) == N)
    print(f"Hello of {N} cameras listed after {took:.2f} s")
    listed = {x["endpoint"]: x for x in devices(d, h)}
    by_url = {c["onvif_url"]: c for c in fleet.cameras}
    for x in listed.values():
        assert x["known"] is False and x["camera_id"] is None
        assert x["xaddrs"][0] in by_url
        assert x["name"] == by_url[x["xaddrs"][0]]["name"]
    target = next(x for x in listed.values() if x["xaddrs"][0] == fleet.cameras[0]["onvif_url"])
    r, _ = add_camera(d, h, target["xaddrs"][0], USER, PASSWORD, endpoint=target["endpoint"],
                      recording={"mode": "off", "retention_days": 7})
    assert r.status_code == 201, r.text
    cam_id = r.json()["id"]
    assert "127.0.0.1" in r.json()["streams"][0]["rtsp_uri"]
    assert r.json()["sighting"] is None
    assert any(x["camera_id"] == cam_id and x["known"] for x in devices(d, h))
    return cam_id, target


def test_a_camera_at_a_new_address_is_proposed_and_moved_by_an_administrator(make_daemon):
    d = make_daemon(extra_toml=FAST_CAMERAS_TOML + '\n[discovery]\ninterfaces = ["lo"]\n')
    h = admin_headers(d)
    assert "listening for Hello/Bye" in d.stderr(), d.stderr()[-2000:]
    assert devices(d, h) == []
    base = free_base_port(N)
    first = SimFleet(cameras=N, user=USER, password=PASSWORD,
                     extra_args=["--base-port", str(base)])
    try:
        cam_id, target = add_one_by_hello(d, h, first)
        old_url = target["xaddrs"][0]

        # A forged Hello: the camera's endpoint reference, an address where
        # something listens. The camera stays; nothing connects there.
        trap = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        trap.bind(("127.0.0.3", 0))
        trap.listen(16)
        trap.setblocking(False)
        forged = f"http://127.0.0.3:{trap.getsockname()[1]}/onvif/device_service"
        send_hello(target["endpoint"], forged)
        wait_until("the forged sighting", lambda: (camera(d, h, cam_id)["sighting"] or {})
                   .get("onvif_url") == forged)
        c = camera(d, h, cam_id)
        assert c["onvif_url"] == old_url
        assert c["sighting"]["via"] == "hello" and c["sighting"]["endpoint"] == target["endpoint"]
        # Proof that the daemon had time to act on it: two health probes of
        # the camera where it is (health_interval_ms = 500) after the sighting.
        seen = c["last_seen"]
        wait_until("two more probes", lambda: camera(d, h, cam_id)["last_seen"] != seen)
        seen = camera(d, h, cam_id)["last_seen"]
        wait_until("two more probes", lambda: camera(d, h, cam_id)["last_seen"] != seen)
        try:
            conn, _ = trap.accept()
            conn.close()
            raise AssertionError("zaulekd connected to the forged address")
        except BlockingIOError:
            pass
        trap.close()
        assert camera(d, h, cam_id)["status"] == "online"
        sighted = audit(d, h, "camera.sighted")
        assert len(sighted) == 1, sighted
        assert sighted[0]["actor"] == "system"
        assert sighted[0]["detail"]["to"] == forged and sighted[0]["detail"]["via"] == "hello"
        assert audit(d, h, "camera.moved") == []
        assert "not moved" in d.stderr()
    finally:
        first.stop()  # SIGTERM: every camera says Bye
    took = wait_until("every device gone by Bye", lambda: devices(d, h) == [])
    print(f"Bye of {N} cameras removed them after {took:.2f} s")
    wait_until("camera offline", lambda: camera(d, h, cam_id)["status"] == "offline")

    # Same endpoints (same --base-port), another address: proposed, not followed.
    with SimFleet(cameras=N, user=USER, password=PASSWORD,
                  extra_args=["--base-port", str(base), "--bind", "127.0.0.2"]) as second:
        new_url = second.cameras[0]["onvif_url"]
        assert "127.0.0.2" in new_url
        wait_until("the sighting at the new address", lambda: (
            camera(d, h, cam_id)["sighting"] or {}).get("onvif_url") == new_url)
        c = camera(d, h, cam_id)
        assert c["onvif_url"] == old_url and c["status"] == "offline"

        # Only administrators move; the body is checked.
        url = d.url(f"/api/v1/cameras/{cam_id}/move")
        assert requests.post(url, json={"onvif_url": new_url}, headers=d.bearer("olga"),
                             timeout=10).status_code == 403
        r = requests.post(url, json={}, headers=h, timeout=10)
        assert r.status_code == 400 and "onvif_url" in r.json()["error"]["message"], r.text
        r = requests.post(url, json={"onvif_url": "ftp://x"}, headers=h, timeout=10)
        assert r.status_code == 400, r.text
        r = requests.patch(d.url(f"/api/v1/cameras/{cam_id}"), json={"onvif_url": new_url},
                           headers=h, timeout=10)
        assert r.status_code == 400 and "/move" in r.json()["error"]["message"], r.text
        # Another camera of the fleet at the new address: not this device.
        r = requests.post(url, json={"onvif_url": second.cameras[1]["onvif_url"]}, headers=h,
                          timeout=30)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "camera_identity_mismatch", r.text
        assert camera(d, h, cam_id)["onvif_url"] == old_url
        # The real one.
        r = requests.post(url, json={"onvif_url": new_url}, headers=h, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["onvif_url"] == new_url and r.json()["sighting"] is None
        assert all("127.0.0.2" in s["rtsp_uri"] for s in r.json()["streams"])
        wait_until("online at the new address",
                   lambda: camera(d, h, cam_id)["status"] == "online")
        moved = audit(d, h, "camera.moved")
        assert len(moved) == 1, moved
        assert moved[0]["actor"] == "adam", moved
        assert moved[0]["detail"] == {"from": old_url, "to": new_url, "via": "administrator"}
        failed = audit(d, h, "camera.move_failed")
        assert len(failed) == 1 and failed[0]["detail"]["to"] == second.cameras[1]["onvif_url"]
        assert PASSWORD not in d.stderr()


def test_a_camera_in_a_trusted_network_is_followed_to_its_new_address(make_daemon):
    d = make_daemon(extra_toml=FAST_CAMERAS_TOML + '\n[discovery]\ninterfaces = ["lo"]\n'
                    'trusted_networks = ["127.0.0.2/32"]\n')
    h = admin_headers(d)
    base = free_base_port(N)
    first = SimFleet(cameras=N, user=USER, password=PASSWORD,
                     extra_args=["--base-port", str(base)])
    try:
        cam_id, target = add_one_by_hello(d, h, first)
    finally:
        first.stop()
    wait_until("camera offline", lambda: camera(d, h, cam_id)["status"] == "offline")
    with SimFleet(cameras=N, user=USER, password=PASSWORD,
                  extra_args=["--base-port", str(base), "--bind", "127.0.0.2"]) as second:
        new_url = second.cameras[0]["onvif_url"]
        took = wait_until("camera followed and online", lambda: (
            lambda c: c["onvif_url"] == new_url and c["status"] == "online")(camera(d, h, cam_id)))
        print(f"camera followed to {new_url} and online {took:.2f} s after the Hello")
        wait_until("stream URIs refreshed",
                   lambda: all("127.0.0.2" in s["rtsp_uri"]
                               for s in camera(d, h, cam_id)["streams"]))
        moved = audit(d, h, "camera.moved")
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
    # Proof that the daemon read them: a valid Hello sent after them on the
    # same socket (so read after them) is listed; nothing else is.
    marker = "urn:uuid:5e0d1e55-0000-4000-8000-00000000beef"
    s.sendto(hello_datagram(marker, "http://127.0.0.9/onvif/device_service"),
             ("239.255.255.250", 3702))
    s.close()
    wait_until("the Hello sent after the garbage",
               lambda: [x["endpoint"] for x in devices(d, h)] == [marker] or devices(d, h))
    assert [x["endpoint"] for x in devices(d, h)] == [marker], devices(d, h)
    assert requests.get(d.url("/healthz"), timeout=5).status_code == 200
