"""Per-user camera visibility (issue 7) with the real zaulekd, the real
simulator (two cameras, ONVIF PullPoint over loopback) and real WebSocket
consoles: an administrator restricts an operator to camera A; that operator's
consoles and REST calls see only A (B answers 404, its alarm cannot be
acknowledged), with seq growing by one per message received; a console that
reconnects and resumes gets exactly the A messages it missed; an investigator
restricted to B reads no audit entry about A (REST and console); the unrestricted
operator sees both; lifting the restriction closes the restricted consoles,
which reconnect and see both cameras."""
import json
import re
import time

import requests
import websocket

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns, wait_log
from simfleet import SimFleet
from test_alarms import Console
from zaulekd_fixture import ROLE_USERS, run_cli

enter_netns()

USER = "visadmin"
PASSWORD = "Vis-Secret-7c01f3"
RULES_TOML = """
[[rules]]
id = "motion"
kinds = ["motion"]
priority = 3
"""
RITA = "rita"
RITA_PASSWORD = "password-rita-4d2"


class UserConsole(Console):
    """A console logged in as any user (Console takes a role's standard user)."""

    def __init__(self, d, token):
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{d.port}/api/v1/ws", timeout=5,
            header=["Authorization: Bearer " + token])
        self.hello = json.loads(self.ws.recv())
        assert self.hello["type"] == "hello", self.hello
        self.got = []


def seqd(console):
    return [m for m in console.got if "seq" in m]


def assert_contiguous(console):
    seqs = [m["seq"] for m in seqd(console)]
    start = console.hello["last_seq"]
    assert seqs == list(range(start + 1, start + 1 + len(seqs))), seqs


def fire_both(sim, console, cam_a, cam_b):
    """A motion start and stop on each camera; waits until `console` (which
    sees both) has the four events."""
    before = {m["id"] for m in console.got if m["type"] == "event"}
    for i in (0, 1):
        sim.post_event(i, "motion", True)
        sim.post_event(i, "motion", False)

    def fresh(cam):
        return [m for m in console.got
                if m["type"] == "event" and m["id"] not in before and m["camera_id"] == cam]

    deadline = time.monotonic() + 30
    while (len(fresh(cam_a)) < 2 or len(fresh(cam_b)) < 2) and time.monotonic() < deadline:
        try:
            console.next(lambda m: m["type"] == "event", timeout=2)
        except AssertionError:
            pass
    assert len(fresh(cam_a)) >= 2 and len(fresh(cam_b)) >= 2, [m.get("type") for m in console.got]


def test_restricted_operator_sees_only_its_cameras(make_daemon):
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        d = make_daemon(extra_toml=FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n"
                        + RULES_TOML)
        admin = admin_headers(d)
        ids = []
        for cam in sim.cameras:
            r, _ = add_camera(d, admin, cam["onvif_url"], USER, PASSWORD,
                              recording={"mode": "off", "retention_days": 30})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        cam_a, cam_b = ids
        for cid in ids:
            wait_log(d, rf"events {re.escape(cid)}: subscribed")

        # An administrator creates rita and restricts her to camera A.
        r = requests.post(d.url("/api/v1/users"), headers=admin, timeout=10,
                          json={"name": RITA, "password": RITA_PASSWORD, "role": "operator"})
        assert r.status_code == 201, r.text
        rita_id = r.json()["id"]
        assert r.json()["cameras"] is None  # the default: every camera
        r = requests.patch(d.url(f"/api/v1/users/{rita_id}"), headers=admin, timeout=10,
                           json={"cameras": [cam_a]})
        assert r.status_code == 200, r.text
        assert r.json()["cameras"] == [cam_a]
        users = requests.get(d.url("/api/v1/users"), headers=admin, timeout=10).json()["users"]
        by_name = {u["name"]: u for u in users}
        assert by_name[RITA]["cameras"] == [cam_a]
        assert by_name[ROLE_USERS["operator"]]["cameras"] is None
        audit = requests.get(d.url("/api/v1/audit?limit=1000"), headers=admin,
                             timeout=10).json()["entries"]
        change = [e for e in audit if e["action"] == "user.cameras"]
        assert change and change[-1]["target"] == "user:" + RITA, change
        assert change[-1]["detail"] == {"from": None, "to": [cam_a]}
        assert change[-1]["actor"] == ROLE_USERS["administrator"]

        # The command line restricts a new user too.
        r = run_cli(["--config", str(d.config_path), "user", "add", "vera", "--role",
                     "investigator", "--cameras", cam_b], stdin_text="password-vera-1\n")
        assert r.returncode == 0, r.stderr
        users = requests.get(d.url("/api/v1/users"), headers=admin, timeout=10).json()["users"]
        assert {u["name"]: u for u in users}["vera"]["cameras"] == [cam_b]

        # Bad input is refused with a clear message naming what is wrong.
        for body, words in [({"cameras": ["no-such-cam"]}, "no camera no-such-cam"),
                            ({"cameras": "cam-1"}, "'cameras' must be a list"),
                            ({"cameras": [7]}, "camera ids"),
                            ({"name": "x"}, "'name' cannot be changed")]:
            r = requests.patch(d.url(f"/api/v1/users/{rita_id}"), headers=admin, json=body,
                               timeout=10)
            assert r.status_code == 400 and words in r.json()["error"]["message"], (body, r.text)
        adam_id = by_name[ROLE_USERS["administrator"]]["id"]
        r = requests.patch(d.url(f"/api/v1/users/{adam_id}"), headers=admin,
                           json={"cameras": [cam_a]}, timeout=10)
        assert r.status_code == 400 and "administrator" in r.json()["error"]["message"], r.text
        r = requests.patch(d.url("/api/v1/users/999999"), headers=admin,
                           json={"cameras": None}, timeout=10)
        assert r.status_code == 404, r.text
        r = requests.patch(d.url(f"/api/v1/users/{rita_id}"), json={"cameras": None},
                           headers=d.bearer(ROLE_USERS["operator"]), timeout=10)
        assert r.status_code == 403, r.text

        rita_token = d.login(RITA, RITA_PASSWORD)["token"]
        rita_h = {"Authorization": "Bearer " + rita_token}
        olga = Console(d, "operator")
        rita = UserConsole(d, rita_token)
        watcher = UserConsole(d, d.login(RITA, RITA_PASSWORD)["token"])  # rita's second console
        assert rita.hello["stream"] == watcher.hello["stream"]  # same audience, one stream
        assert rita.hello["stream"] != olga.hello["stream"]

        fire_both(sim, olga, cam_a, cam_b)
        # The alarms of both cameras, as olga sees them.
        alarms = {}
        deadline = time.monotonic() + 30
        while len(alarms) < 2 and time.monotonic() < deadline:
            for m in olga.got:
                if m["type"] == "alarm":
                    alarms[m["camera_id"]] = m
            if len(alarms) < 2:
                try:
                    olga.alarm(timeout=2)
                except AssertionError:
                    pass
        assert set(alarms) == {cam_a, cam_b}, alarms
        # rita has A's two events and A's alarm, nothing of B, seq without gaps.
        rita.next(lambda m: m["type"] == "alarm", what="A's alarm")
        deadline = time.monotonic() + 20
        while len([m for m in rita.got if m["type"] == "event"]) < 2 and time.monotonic() < deadline:
            try:
                rita.next(lambda m: m["type"] == "event", timeout=2)
            except AssertionError:
                pass
        got = seqd(rita)
        assert got and all(m["camera_id"] == cam_a for m in got), got
        assert len([m for m in got if m["type"] == "event"]) >= 2, got
        assert_contiguous(rita)
        olga_cams = {m["camera_id"] for m in olga.got if m["type"] == "event"}
        assert olga_cams == {cam_a, cam_b}
        assert_contiguous(olga)

        # REST sees only A, and B answers as if it did not exist.
        cams = requests.get(d.url("/api/v1/cameras"), headers=rita_h, timeout=10).json()
        assert [c["id"] for c in cams["cameras"]] == [cam_a]
        assert requests.get(d.url(f"/api/v1/cameras/{cam_a}"), headers=rita_h,
                            timeout=10).status_code == 200
        hidden = requests.get(d.url(f"/api/v1/cameras/{cam_b}"), headers=rita_h, timeout=10)
        unknown = requests.get(d.url("/api/v1/cameras/cam-none"), headers=rita_h, timeout=10)
        assert hidden.status_code == 404 and unknown.status_code == 404
        assert hidden.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"
        assert requests.get(d.url(f"/api/v1/cameras/{cam_b}/recordings"), headers=rita_h,
                            timeout=10).status_code == 404
        assert requests.get(d.url(f"/api/v1/cameras/{cam_a}/recordings"), headers=rita_h,
                            timeout=10).status_code == 200
        events = requests.get(d.url("/api/v1/events?limit=1000"), headers=rita_h,
                              timeout=10).json()["events"]
        assert events and {e["camera_id"] for e in events} == {cam_a}, events
        assert requests.get(d.url(f"/api/v1/events?camera={cam_b}"), headers=rita_h,
                            timeout=10).json()["events"] == []
        all_events = requests.get(d.url("/api/v1/events?limit=1000"),
                                  headers=d.bearer(ROLE_USERS["operator"]),
                                  timeout=10).json()["events"]
        assert {e["camera_id"] for e in all_events} == {cam_a, cam_b}
        listed = requests.get(d.url("/api/v1/alarms"), headers=rita_h, timeout=10).json()
        assert {a["camera_id"] for a in listed["alarms"]} == {cam_a}, listed
        b_alarm, a_alarm = alarms[cam_b]["id"], alarms[cam_a]["id"]
        for action, body in [("ack", None), ("resolve", {"note": "seen"}),
                             ("assign", {"user": RITA})]:
            r = requests.post(d.url(f"/api/v1/alarms/{b_alarm}/{action}"), headers=rita_h,
                              json=body, timeout=10)
            assert r.status_code == 404, (action, r.text)
            assert r.json()["error"]["message"] == f"no alarm {b_alarm}", r.text
        r = requests.post(d.url(f"/api/v1/alarms/{a_alarm}/ack"), headers=rita_h, timeout=10)
        assert r.status_code == 200 and r.json()["state"] == "acknowledged", r.text
        vera_token = d.login("vera", "password-vera-1")["token"]
        vera = UserConsole(d, vera_token)  # an investigator who sees only B
        # Bookmarks: only A's are listed; B's camera answers as if unknown.
        op_h = d.bearer(ROLE_USERS["operator"])
        when = all_events[0]["time"]
        for cam in (cam_a, cam_b):
            r = requests.post(d.url("/api/v1/bookmarks"), headers=op_h, timeout=10,
                              json={"camera_id": cam, "time": when, "note": "seen " + cam})
            assert r.status_code == 201, r.text
        marks = requests.get(d.url("/api/v1/bookmarks"), headers=rita_h, timeout=10).json()
        assert {b["camera_id"] for b in marks["bookmarks"]} == {cam_a}, marks
        assert requests.get(d.url(f"/api/v1/bookmarks?camera={cam_b}"), headers=rita_h,
                            timeout=10).status_code == 404
        r = requests.post(d.url("/api/v1/bookmarks"), headers=rita_h, timeout=10,
                          json={"camera_id": cam_b, "time": when})
        assert r.status_code == 404, r.text
        every = requests.get(d.url("/api/v1/bookmarks"), headers=op_h, timeout=10).json()
        assert {b["camera_id"] for b in every["bookmarks"]} == {cam_a, cam_b}
        # The audit trail: vera reads nothing about A, on REST or on her
        # console (entries about no camera she reads); the administrator both.
        def audit_cameras(headers):
            entries = requests.get(d.url("/api/v1/audit?limit=1000"), headers=headers,
                                   timeout=10).json()["entries"]
            return entries, {e["target"][len("camera:"):] if e["target"].startswith("camera:")
                             else e["detail"].get("camera_id") for e in entries} - {None}
        entries, seen = audit_cameras({"Authorization": "Bearer " + vera_token})
        assert seen == {cam_b}, seen
        assert [e for e in entries if e["action"] == "user.cameras"], entries
        assert [e for e in entries if e["action"] == "camera.add"], entries
        _, seen = audit_cameras(admin)
        assert {cam_a, cam_b} <= seen, seen
        vera.next(lambda m: m["type"] == "audit" and m["action"] == "bookmark.add"
                  and m["detail"]["camera_id"] == cam_b, what="the audit of B's bookmark")
        about_a = [m for m in vera.got if m["type"] == "audit" and cam_a in
                   (m["detail"].get("camera_id"), m["target"][len("camera:"):])]
        assert not about_a, about_a
        assert_contiguous(vera)
        vera.close()
        # B's alarm is untouched.
        b_now = requests.get(d.url(f"/api/v1/alarms?camera={cam_b}"),
                             headers=d.bearer(ROLE_USERS["operator"]), timeout=10).json()
        assert [a["state"] for a in b_now["alarms"] if a["id"] == b_alarm] == ["new"]

        # Resume: rita's console goes away; both cameras fire; it comes back
        # and gets exactly the A messages it missed (the watcher stayed).
        rita.next(lambda m: m["type"] == "alarm" and m["state"] == "acknowledged",
                  what="the ack")
        assert_contiguous(rita)
        last = max(m["seq"] for m in seqd(rita))
        rita.close()
        fire_both(sim, olga, cam_a, cam_b)
        # The watcher has the two new A events (and nothing of B).
        deadline = time.monotonic() + 20
        while (len([m for m in seqd(watcher) if m["seq"] > last and m["type"] == "event"]) < 2
               and time.monotonic() < deadline):
            try:
                watcher.next(lambda m: m["type"] == "event", timeout=2)
            except AssertionError:
                pass
        missed = [m for m in seqd(watcher) if m["seq"] > last]
        assert len([m for m in missed if m["type"] == "event"]) >= 2, missed
        assert all(m["camera_id"] == cam_a for m in missed), missed

        back = UserConsole(d, rita_token)
        assert back.hello["stream"] == watcher.hello["stream"]
        upto = back.hello["last_seq"]
        assert upto >= missed[-1]["seq"]
        back.send({"type": "resume", "after": last})
        resumed = back.next(lambda m: m["type"] == "resumed", what="resumed")
        assert resumed["after"] == last and resumed["upto"] == upto, resumed
        assert resumed["count"] == upto - last
        assert not [m for m in back.got if m["type"] == "resume_gap"]
        replayed = [m for m in back.got if "seq" in m and m["seq"] <= upto]
        assert [m["seq"] for m in replayed] == list(range(last + 1, upto + 1))
        strip = lambda m: {k: v for k, v in m.items() if k != "_received"}  # noqa: E731
        by_seq = {m["seq"]: strip(m) for m in seqd(watcher)}
        for m in replayed:
            assert m["camera_id"] == cam_a, m
            if m["seq"] in by_seq:
                assert strip(m) == by_seq[m["seq"]], (m, by_seq[m["seq"]])

        # Lifting the restriction closes rita's consoles with a reason; the
        # next one is on the operators' stream and sees both cameras.
        r = requests.patch(d.url(f"/api/v1/users/{rita_id}"), headers=admin,
                           json={"cameras": None}, timeout=10)
        assert r.status_code == 200 and r.json()["cameras"] is None, r.text
        for c in (back, watcher):
            deadline = time.monotonic() + 20
            closed = None
            while closed is None and time.monotonic() < deadline:
                c.ws.settimeout(2)
                try:
                    op, data = c.ws.recv_data(control_frame=True)
                except websocket.WebSocketConnectionClosedException:
                    closed = b""
                    break
                except websocket.WebSocketTimeoutException:
                    continue
                if op == websocket.ABNF.OPCODE_CLOSE:
                    closed = data
            assert closed is not None, "console not closed"
            assert int.from_bytes(closed[:2], "big") == 1008, closed
            assert b"visible cameras changed" in closed[2:], closed
        again = UserConsole(d, rita_token)
        assert again.hello["stream"] == olga.hello["stream"]
        fire_both(sim, again, cam_a, cam_b)
        assert_contiguous(again)
        cams = requests.get(d.url("/api/v1/cameras"), headers=rita_h, timeout=10).json()
        assert sorted(c["id"] for c in cams["cameras"]) == sorted(ids)
        for c in (again, olga):
            c.close()
