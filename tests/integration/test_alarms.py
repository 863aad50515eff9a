"""Alarms end to end with the real zaulekd, the real simulator (ONVIF PullPoint
over loopback) and real WebSocket consoles: a simulated camera fires motion
and a console receives the alarm; repeats fold; an ack from a second console
is seen by the first; resolve needs a note; rules made over the API are armed
at once; a console that reconnects with resume gets exactly what it missed;
a camera that stops answering PullMessages is re-subscribed and raises a
health event and alarm. Latencies are printed, never asserted."""
import json
import re
import time

import jsonschema
import requests
import websocket
import yaml

from camera_helpers import (FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns, list_events,
                            parse_time,
                            wait_log)
from simfleet import SimFleet
from zaulekd_fixture import ROLE_USERS, SOURCE_DIR, wait_until

enter_netns()

USER = "alarmadmin"
PASSWORD = "Al-Secret-5be21a"
RULES_TOML = """
[[rules]]
id = "motion"
kinds = ["motion"]
priority = 3
"""


class Console:
    """One WebSocket console: every message kept in order of arrival."""

    def __init__(self, d, role="operator"):
        h = d.bearer(ROLE_USERS[role])
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{d.port}/api/v1/ws", timeout=5,
            header=["Authorization: " + h["Authorization"]])
        self.hello = json.loads(self.ws.recv())
        assert self.hello["type"] == "hello", self.hello
        self.got = []

    def next(self, pred, timeout=20, what="message"):
        """The next message satisfying pred (others are kept in self.got too)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                m = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            m["_received"] = time.time()
            self.got.append(m)
            if pred(m):
                return m
        raise AssertionError(f"no {what} in {timeout} s; got {[x.get('type') for x in self.got]}")

    def alarm(self, pred=lambda m: True, **kw):
        return self.next(lambda m: m["type"] == "alarm" and pred(m), what="alarm", **kw)

    def send(self, obj):
        self.ws.send(json.dumps(obj))

    def close(self):
        self.ws.close()


def json_schema(node):
    """OpenAPI 3.0 schema -> JSON Schema: `nullable: true` becomes a null type."""
    if isinstance(node, list):
        return [json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
        if "enum" in out:
            out["enum"] = out["enum"] + [None]
    return out


SPEC = json_schema(yaml.safe_load((SOURCE_DIR / "docs" / "api" / "openapi.yaml").read_text()))


def validate(name, instance):
    """instance satisfies docs/api/openapi.yaml's schema `name`."""
    jsonschema.validate(instance, {"$ref": f"#/components/schemas/{name}",
                                   "components": SPEC["components"]})


def unwrapped(m):
    """A WebSocket message without its envelope (type, seq) and our stamp."""
    return {k: v for k, v in m.items() if k not in ("type", "seq", "_received")}






def start_with_camera(make_daemon, sim):
    d = make_daemon(extra_toml=FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n" + RULES_TOML)
    r, _ = add_camera(d, admin_headers(d), sim.cameras[0]["onvif_url"], USER, PASSWORD,
                      recording={"mode": "off", "retention_days": 30})
    assert r.status_code == 201, r.text
    cam_id = r.json()["id"]
    wait_log(d, rf"events {re.escape(cam_id)}: subscribed")
    return d, cam_id


def post(d, path, role, body=None):
    return requests.post(d.url(path), headers=d.bearer(ROLE_USERS[role]), json=body, timeout=10)


def test_motion_alarm_lifecycle_across_consoles(make_daemon):
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        d, cam_id = start_with_camera(make_daemon, sim)
        a = Console(d, "operator")
        b = Console(d, "administrator")

        t = sim.post_event(0, "motion", True)
        m = a.alarm()
        latency = (m["_received"] - parse_time(t["time"])) * 1000
        assert m["camera_id"] == cam_id and m["kind"] == "motion", m
        assert m["rule_id"] == "motion" and m["priority"] == 3, m
        assert m["state"] == "new" and m["count"] == 1, m
        assert isinstance(m["seq"], int)
        alarm_id = m["id"]
        validate("Alarm", unwrapped(m))
        assert b.alarm()["id"] == alarm_id  # every console gets it
        print(f"sim motion -> console alarm: {latency:.1f} ms")

        # A stop raises nothing; another start folds into the open alarm.
        sim.post_event(0, "motion", False)
        sim.post_event(0, "motion", True)
        m = a.alarm()
        assert m["id"] == alarm_id and m["count"] == 2, m

        # The second console acknowledges; the first sees it.
        r = post(d, f"/api/v1/alarms/{alarm_id}/ack", "administrator")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "acknowledged"
        m = a.alarm(lambda m: m["state"] == "acknowledged")
        assert m["id"] == alarm_id and m["acknowledged_by"] == ROLE_USERS["administrator"], m
        assert m["acknowledged_at"] is not None

        # Lifecycle rules and roles.
        assert post(d, f"/api/v1/alarms/{alarm_id}/ack", "operator").status_code == 409
        assert post(d, f"/api/v1/alarms/{alarm_id}/ack", "investigator").status_code == 403
        assert post(d, "/api/v1/alarms/999999/ack", "operator").status_code == 404
        r = post(d, f"/api/v1/alarms/{alarm_id}/assign", "administrator", {"user": "nobody"})
        assert r.status_code == 400 and "nobody" in r.json()["error"]["message"], r.text
        # An unknown alarm is 404 whoever is named; an investigator and nobody
        # get the same words: errors do not enumerate users or their roles.
        for user in ("nobody", ROLE_USERS["investigator"], ROLE_USERS["operator"]):
            r = post(d, "/api/v1/alarms/999999/assign", "operator", {"user": user})
            assert r.status_code == 404, r.text
        r2 = post(d, f"/api/v1/alarms/{alarm_id}/assign", "operator",
                  {"user": ROLE_USERS["investigator"]})
        assert r2.status_code == 400, r2.text
        r3 = post(d, f"/api/v1/alarms/{alarm_id}/assign", "operator", {"user": "nobody"})
        assert (r2.json()["error"]["message"].replace(ROLE_USERS["investigator"], "X")
                == r3.json()["error"]["message"].replace("nobody", "X")), (r2.text, r3.text)
        r = post(d, f"/api/v1/alarms/{alarm_id}/assign", "administrator",
                 {"user": ROLE_USERS["operator"]})
        assert r.status_code == 200 and r.json()["assigned_to"] == ROLE_USERS["operator"], r.text
        assert a.alarm(lambda m: m["assigned_to"] is not None)["id"] == alarm_id
        for body in ({}, {"note": ""}, {"note": "   "}, {"note": 5}):
            r = post(d, f"/api/v1/alarms/{alarm_id}/resolve", "operator", body)
            assert r.status_code == 400 and "note" in r.json()["error"]["message"], (body, r.text)
        r = post(d, f"/api/v1/alarms/{alarm_id}/resolve", "operator",
                 {"note": "patrol sent; a cat"})
        assert r.status_code == 200, r.text
        m = b.alarm(lambda m: m["state"] == "resolved")
        validate("Alarm", unwrapped(m))
        assert m["resolved_by"] == ROLE_USERS["operator"] and m["note"] == "patrol sent; a cat"
        assert post(d, f"/api/v1/alarms/{alarm_id}/resolve", "operator",
                    {"note": "again"}).status_code == 409

        # A new start after resolving is a new alarm.
        sim.post_event(0, "motion", True)
        m = a.alarm(lambda m: m["state"] == "new")
        assert m["id"] != alarm_id and m["count"] == 1

        # Listed for every role; filters.
        for role in ROLE_USERS:
            r = requests.get(d.url("/api/v1/alarms"), headers=d.bearer(ROLE_USERS[role]),
                             timeout=10)
            assert r.status_code == 200, r.text
            validate("AlarmPage", r.json())
            ids = [x["id"] for x in r.json()["alarms"]]
            assert ids[:2] == [m["id"], alarm_id], ids  # newest first
        h = d.bearer(ROLE_USERS["operator"])
        r = requests.get(d.url("/api/v1/alarms"), params={"state": "resolved"}, headers=h,
                         timeout=10)
        assert [x["id"] for x in r.json()["alarms"]] == [alarm_id]
        r = requests.get(d.url("/api/v1/alarms"), params={"state": "open"}, headers=h, timeout=10)
        assert [x["id"] for x in r.json()["alarms"]] == [m["id"]]
        r = requests.get(d.url("/api/v1/alarms"), params={"state": "bogus"}, headers=h, timeout=10)
        assert r.status_code == 400 and "state" in r.json()["error"]["message"]

        # Audited.
        r = requests.get(d.url("/api/v1/audit"), params={"limit": 1000},
                         headers=d.bearer(ROLE_USERS["administrator"]), timeout=10)
        actions = [(e["action"], e["actor"]) for e in r.json()["entries"]
                   if e["target"] == f"alarm:{alarm_id}"]
        assert actions == [("alarm.raise", "system"),
                           ("alarm.ack", ROLE_USERS["administrator"]),
                           ("alarm.assign", ROLE_USERS["administrator"]),
                           ("alarm.resolve", ROLE_USERS["operator"])], actions

        # A rule made over the API is armed when the call returns. Before it,
        # a line crossing raises nothing: the motion alarm that follows it
        # (routed in order) is the next alarm message.
        sim.post_event(0, "line_crossing", True)
        sim.post_event(0, "motion", True)
        m = a.alarm()
        assert m["kind"] == "motion", m
        adm = d.bearer(ROLE_USERS["administrator"])
        r = requests.post(d.url("/api/v1/rules"), headers=adm, timeout=10,
                          json={"id": "crossings", "cameras": [cam_id],
                                "kinds": ["line_crossing"], "priority": 4})
        assert r.status_code == 201, r.text
        assert r.json()["origin"] == "api"
        validate("ListedRule", r.json())
        sim.post_event(0, "line_crossing", True)
        m = a.alarm()
        assert (m["kind"], m["rule_id"], m["priority"]) == ("line_crossing", "crossings", 4), m
        listed = requests.get(d.url("/api/v1/rules"), headers=adm, timeout=10).json()
        validate("RuleList", listed)
        rules = listed["rules"]
        assert [(x["id"], x["origin"]) for x in rules] == [
            ("motion", "config"), ("crossings", "api"), ("default", "builtin")]
        r = requests.post(d.url("/api/v1/rules"), headers=adm, timeout=10,
                          json={"id": "crossings"})
        assert r.status_code == 409
        r = requests.post(d.url("/api/v1/rules"), headers=adm, timeout=10,
                          json={"id": "x", "hours": "25:00-26:00"})
        assert r.status_code == 400 and "hours" in r.json()["error"]["message"]
        assert requests.delete(d.url("/api/v1/rules/motion"), headers=adm,
                               timeout=10).status_code == 409
        assert requests.delete(d.url("/api/v1/rules/crossings"), headers=adm,
                               timeout=10).status_code == 200
        a.close()
        b.close()
        assert PASSWORD not in d.stderr()


def test_console_resumes_exactly_what_it_missed(make_daemon):
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        d, cam_id = start_with_camera(make_daemon, sim)
        watcher = Console(d, "operator")  # stays connected: the reference stream
        a = Console(d, "operator")
        sim.post_event(0, "tamper", True)
        a.alarm()
        last = max(m["seq"] for m in a.got if "seq" in m)
        a.close()

        # Missed while away: 3 events, a new alarm and a fold (6+ messages).
        sim.post_event(0, "motion", True)
        sim.post_event(0, "motion", False)
        sim.post_event(0, "motion", True)
        watcher.alarm(lambda m: m["kind"] == "motion" and m["count"] == 2)
        missed = [m for m in watcher.got if "seq" in m and m["seq"] > last]
        assert len(missed) >= 5, missed

        b = Console(d, "operator")
        upto = b.hello["last_seq"]
        assert upto >= missed[-1]["seq"]
        b.send({"type": "resume", "after": last})
        # Something live arrives meanwhile, too.
        sim.post_event(0, "motion", False)
        resumed = b.next(lambda m: m["type"] == "resumed", what="resumed")
        assert resumed["after"] == last and resumed["upto"] == upto, resumed
        b.next(lambda m: m.get("type") == "event" and m["seq"] > upto, what="live event")
        seqs = sorted(m["seq"] for m in b.got if "seq" in m)
        assert len(seqs) == len(set(seqs)), seqs  # no duplicates
        assert seqs == list(range(last + 1, seqs[-1] + 1)), seqs  # no gaps
        assert resumed["count"] == upto - last
        # The same messages the watcher saw, byte for byte apart from our stamp.
        strip = lambda m: {k: v for k, v in m.items() if k != "_received"}  # noqa: E731
        by_seq = {m["seq"]: strip(m) for m in watcher.got if "seq" in m}
        for m in b.got:
            if "seq" in m and m["seq"] in by_seq:
                assert strip(m) == by_seq[m["seq"]], (m, by_seq[m["seq"]])
        b.close()
        watcher.close()


def test_camera_that_stops_answering_raises_a_health_alarm(make_daemon):
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        d, cam_id = start_with_camera(make_daemon, sim)
        a = Console(d, "operator")
        t0 = time.monotonic()
        # Answers come 12 s late: the long-poll plus its grace runs out.
        sim.set_faults(0, soap_delay_ms=12000)
        m = a.next(lambda m: m["type"] == "event" and m["kind"] == "health"
                   and m["topic"] == "zaulek:Health/EventSubscription", timeout=60,
                   what="health event")
        print(f"silent PullMessages -> health event after {time.monotonic() - t0:.1f} s")
        assert m["camera_id"] == cam_id and m["state"] == "start", m
        assert m["source"] == {"Subsystem": "events"} and m["data"]["status"] == "failed", m
        validate("Event", unwrapped(m))
        alarm = a.alarm(lambda x: x["kind"] == "health", timeout=20)
        assert alarm["rule_id"] == "default" and alarm["priority"] == 5, alarm

        sim.set_faults(0, soap_delay_ms=0)
        m = a.next(lambda m: m["type"] == "event" and m["kind"] == "health"
                   and m["topic"] == "zaulek:Health/EventSubscription" and m["state"] == "stop",
                   timeout=90, what="health stop")
        assert m["data"]["status"] == "active", m
        # Re-subscribed: camera events flow again.
        sim.post_event(0, "tamper", True)
        m = a.next(lambda m: m["type"] == "event" and m["kind"] == "tamper", timeout=30,
                   what="tamper event")
        assert m["camera_id"] == cam_id
        # Stored and listed.
        events = list_events(d, d.bearer(ROLE_USERS["investigator"]), {"camera": cam_id})
        assert m["id"] in [e["id"] for e in events], (m, events)
        kinds = [(e["kind"], e["state"], e["topic"]) for e in events]
        assert ("health", "start", "zaulek:Health/EventSubscription") in kinds, kinds
        assert ("health", "stop", "zaulek:Health/EventSubscription") in kinds, kinds
        # The registry's probes (1 s timeout here) timed out too: a camera health event.
        assert ("health", "start", "zaulek:Health/Camera") in kinds, kinds
        r = requests.get(d.url("/api/v1/alarms"), params={"state": "open"},
                         headers=d.bearer(ROLE_USERS["investigator"]), timeout=10)
        assert any(x["kind"] == "health" for x in r.json()["alarms"]), r.json()
        a.close()


def test_camera_already_offline_at_start_raises_a_health_alarm(make_daemon):
    """A camera that is gone while zaulekd is down: after the restart its
    first probe fails at once, before anything listens for status changes;
    the alarm must still be raised."""
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        d, cam_id = start_with_camera(make_daemon, sim)
    code, _ = d.stop()  # the simulator is gone too (left the with-block)
    assert code == 0
    d.start()
    def offline_event():
        r = requests.get(d.url("/api/v1/events"), params={"camera": cam_id},
                         headers=d.bearer(ROLE_USERS["investigator"]), timeout=10)
        return [e for e in r.json()["events"] if e["topic"] == "zaulek:Health/Camera"
                and e["state"] == "start" and e["data"]["status"] == "offline"]
    wait_until("the camera's offline health event", offline_event, 30, step=0.2,
               detail=lambda: d.stderr()[-3000:])
    r = requests.get(d.url("/api/v1/alarms"), params={"state": "open"},
                     headers=d.bearer(ROLE_USERS["operator"]), timeout=10)
    assert any(a["camera_id"] == cam_id and a["kind"] == "health" for a in r.json()["alarms"])
