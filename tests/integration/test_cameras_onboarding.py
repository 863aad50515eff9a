"""Adding cameras to the real zaulekd from the real simulator (ONVIF over
loopback HTTP): 201 with main+sub RTSP URIs, wrong password 422 with nothing
stored, unreachable and silent cameras answered with bounded errors, an hour of
clock skew, PATCH/DELETE, audit, and credentials never in a response, in the
daemon's log or in clear in the catalogue."""
import json
import os
import socket
import stat

import requests

from camera_helpers import (FAST_CAMERAS_TOML, add_camera, admin_headers, cameras, enter_netns,
                            wait_statuses)
from simfleet import SimFleet
from zaulekd_fixture import wait_until

enter_netns()

USER = "camadmin"
PASSWORD = "Cam-Secret-7f3a9c"


def start(make_daemon):
    return make_daemon(extra_toml=FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n")


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_add_camera_returns_streams_and_hides_credentials(make_daemon):
    d = start(make_daemon)
    h = admin_headers(d)
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        cam = sim.cameras[0]
        r, took = add_camera(d, h, cam["onvif_url"], USER, PASSWORD,
                             recording={"mode": "events", "retention_days": 30})
        print(f"add camera: {r.status_code} in {took:.3f} s")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["id"]
        assert body["status"] == "online"
        assert body["manufacturer"] == "Zaulek"
        assert body["model"] == "SimCam-1080"
        assert body["recording"] == {"mode": "events", "retention_days": 30}
        streams = {s["kind"]: s for s in body["streams"]}
        assert streams["main"]["rtsp_uri"] == cam["rtsp_main"]
        assert streams["sub"]["rtsp_uri"] == cam["rtsp_sub"]
        assert streams["main"]["width"] > streams["sub"]["width"] > 0
        assert streams["main"]["codec"] == "H264"
        assert body["snapshot_uri"]
        assert PASSWORD not in r.text and USER not in r.text

        for role_user in ("olga", "adam", "iwona"):  # every role may list
            rh = d.bearer(role_user)
            listed = requests.get(d.url("/api/v1/cameras"), headers=rh, timeout=10)
            assert listed.status_code == 200
            assert [c["id"] for c in listed.json()["cameras"]] == [body["id"]]
            assert PASSWORD not in listed.text and USER not in listed.text
        one = requests.get(d.url(f"/api/v1/cameras/{body['id']}"), headers=h, timeout=10)
        assert one.status_code == 200
        assert one.json()["streams"] == body["streams"]
        assert PASSWORD not in one.text

        # An operator may not add; a second add of the same URL conflicts.
        op = requests.post(d.url("/api/v1/cameras"), headers=d.bearer("olga"),
                           json={"onvif_url": cam["onvif_url"], "username": USER,
                                 "password": PASSWORD}, timeout=10)
        assert op.status_code == 403
        dup, _ = add_camera(d, h, cam["onvif_url"], USER, PASSWORD)
        assert dup.status_code == 409, dup.text

        # RTSP Basic (password in clear) is off unless an administrator allows it.
        assert body["allow_basic_auth"] is False and body["sighting"] is None
        url = d.url(f"/api/v1/cameras/{body['id']}")
        bad = requests.patch(url, headers=h, json={"allow_basic_auth": "yes"}, timeout=10)
        assert bad.status_code == 400 and "allow_basic_auth" in bad.text, bad.text
        assert requests.patch(url, headers=d.bearer("olga"), json={"allow_basic_auth": True},
                              timeout=10).status_code == 403
        ok = requests.patch(url, headers=h, json={"allow_basic_auth": True}, timeout=10)
        assert ok.status_code == 200 and ok.json()["allow_basic_auth"] is True, ok.text
        updates = [e for e in requests.get(d.url("/api/v1/audit"), headers=h,
                                           params={"limit": 100}, timeout=10).json()["entries"]
                   if e["action"] == "camera.update"]
        assert updates[0]["detail"] == {"allow_basic_auth": {"from": False, "to": True}}, updates

        # Supervision keeps it online (probes every 500 ms with these credentials):
        # two more probes (last_seen moves twice) and it is online.
        for _ in range(2):
            seen = cameras(d, h)[0]["last_seen"]
            wait_until("a health probe", lambda: cameras(d, h)[0]["last_seen"] != seen, 1.5)
        assert cameras(d, h)[0]["status"] == "online"
        assert cameras(d, h)[0]["last_seen"]

    # At rest: the key file is 0600 and the password is not in the catalogue in clear.
    storage = d.dir / "storage"
    key = storage / "secret.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    for f in storage.iterdir():
        if f.is_file():
            assert PASSWORD.encode() not in f.read_bytes(), f
    d.stop()
    log = d.stderr()
    assert "added" in log
    assert PASSWORD not in log


def test_wrong_password_is_422_and_nothing_is_stored(make_daemon):
    d = start(make_daemon)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        r, took = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, "not-the-password-91")
        print(f"wrong password: {r.status_code} in {took:.3f} s")
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["code"] == "camera_unauthorized"
        assert err["message"].startswith("the camera refused the username or password: "
                                         "GetDeviceInformation: camera refused the credentials")
        assert cameras(d, h) == []
        # The sim's wrong_password fault: the right password refused too.
        sim.set_faults(0, wrong_password=True)
        r2, _ = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, PASSWORD)
        assert r2.status_code == 422, r2.text
        assert cameras(d, h) == []
    audit = requests.get(d.url("/api/v1/audit?limit=100"), headers=h, timeout=10).json()
    failed = [e for e in audit["entries"] if e["action"] == "camera.add_failed"]
    assert len(failed) == 2
    assert "not-the-password-91" not in json.dumps(audit)
    d.stop()
    assert "not-the-password-91" not in d.stderr()
    assert PASSWORD not in d.stderr()


def test_unreachable_and_silent_cameras_get_bounded_errors(make_daemon):
    d = start(make_daemon)
    h = admin_headers(d)
    url = f"http://127.0.0.1:{closed_port()}/onvif/device_service"
    r, took = add_camera(d, h, url, USER, PASSWORD)
    print(f"refused port: {r.status_code} in {took:.3f} s")
    assert r.status_code == 502, r.text
    assert r.json()["error"]["code"] == "camera_unreachable"
    assert "Connection refused" in r.json()["error"]["message"]

    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        sim.set_faults(0, soap_delay_ms=20000)  # answers long after our 1 s deadline
        r, took = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, PASSWORD)
        print(f"silent camera (onvif_timeout_ms=1000): {r.status_code} in {took:.3f} s")
        assert r.status_code == 504, r.text
        assert r.json()["error"]["code"] == "camera_timeout"
        assert "within 1000 ms" in r.json()["error"]["message"]
        sim.set_faults(0, soap_delay_ms=0, malformed_soap=True)
        r, _ = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, PASSWORD)
        assert r.status_code == 502, r.text
        assert r.json()["error"]["code"] == "camera_bad_reply"
    assert cameras(d, h) == []

    for bad in ({"onvif_url": "https://127.0.0.1/x", "username": "u", "password": "p"},
                {"onvif_url": "http://u:p@127.0.0.1/x", "username": "u", "password": "p"},
                {"onvif_url": "http://127.0.0.1/x", "username": "u"},
                {"onvif_url": 5, "username": "u", "password": "p"},
                {"onvif_url": "http://127.0.0.1/x", "username": "u", "password": "p",
                 "recording": {"mode": "sometimes"}},
                {"onvif_url": "http://127.0.0.1/x", "username": "u", "password": "p",
                 "recording": {"retention_days": 91}}):
        r = requests.post(d.url("/api/v1/cameras"), headers=h, json=bad, timeout=10)
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["code"] == "invalid_argument"


def test_clock_skew_of_an_hour_still_authenticates(make_daemon):
    d = start(make_daemon)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        sim.set_faults(0, clock_skew_s=3600)
        r, _ = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, PASSWORD)
        assert r.status_code == 201, r.text
        assert abs(r.json()["clock_offset_s"] - 3600) <= 2
        # Supervision keeps authenticating with the skew; a skew that changes
        # under it (-1 h) is learnt again by the next probe.
        sim.set_faults(0, clock_skew_s=-3600)
        wait_until("the new clock offset learnt",
                   lambda: abs(cameras(d, h)[0]["clock_offset_s"] + 3600) <= 2, 2.0)
        cams = cameras(d, h)
        assert cams[0]["status"] == "online", cams
        assert abs(cams[0]["clock_offset_s"] + 3600) <= 2


def test_patch_and_delete(make_daemon):
    d = start(make_daemon)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        r, _ = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, PASSWORD, name="Alley 7")
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        assert r.json()["name"] == "Alley 7"
        p = requests.patch(d.url(f"/api/v1/cameras/{cid}"), headers=h,
                           json={"name": "Alley 7 north",
                                 "recording": {"mode": "off", "retention_days": 14}}, timeout=10)
        assert p.status_code == 200, p.text
        assert p.json()["name"] == "Alley 7 north"
        assert p.json()["recording"] == {"mode": "off", "retention_days": 14}
        for bad in ({}, {"recording": {"retention_days": 91}}, {"password": "x"}, {"name": ""}):
            b = requests.patch(d.url(f"/api/v1/cameras/{cid}"), headers=h, json=bad, timeout=10)
            assert b.status_code == 400, (bad, b.text)
        assert requests.patch(d.url(f"/api/v1/cameras/{cid}"), headers=d.bearer("olga"),
                              json={"name": "x"}, timeout=10).status_code == 403
        gone = requests.delete(d.url(f"/api/v1/cameras/{cid}"), headers=h, timeout=10)
        assert gone.status_code == 200, gone.text
        assert requests.get(d.url(f"/api/v1/cameras/{cid}"), headers=h,
                            timeout=10).status_code == 404
        assert requests.delete(d.url(f"/api/v1/cameras/{cid}"), headers=h,
                               timeout=10).status_code == 404
        assert cameras(d, h) == []
    audit = requests.get(d.url("/api/v1/audit?limit=100"), headers=h, timeout=10).json()
    actions = [e["action"] for e in audit["entries"]]
    for a in ("camera.add", "camera.update", "camera.delete"):
        assert a in actions, actions
    upd = [e for e in audit["entries"] if e["action"] == "camera.update"][0]
    assert upd["detail"]["name"] == {"from": "Alley 7", "to": "Alley 7 north"}
    assert upd["target"] == f"camera:{cid}"


def test_the_credentials_key_can_live_apart_from_the_catalogue(make_daemon, tmp_path):
    """storage.key_file: created 0600 where configured (nothing in the storage
    folder), and a key that others may read stops the start, naming it."""
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    key = keys / "secret.key"
    d = make_daemon(storage={"key_file": str(key)})
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert key.stat().st_size == 32
    assert not (d.dir / "storage" / "secret.key").exists()
    d.stop()
    os.chmod(key, 0o644)
    from zaulekd_fixture import ZAULEKD
    import subprocess
    r = subprocess.run([str(ZAULEKD), "--config", str(d.config_path)], capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert f"secret key {key}: readable by group or others; chmod 600 it" in r.stderr + r.stdout
