"""A rule's recording trigger and bookmark, end to end: the real zaulekd, the
real simulator (RTSP + ONVIF PullPoint over loopback), one camera in events
mode and one config rule `gate` for line_crossing with record = true and
bookmark = true. A motion event (which without record rules would start
recording) records nothing; a line crossing makes a segment from pre_event
before it to post_event after it, an alarm raised by `gate`, and a bookmark at
the event's time linked to that alarm. Bookmarks over the API: made by an
operator, listed, deleted by an investigator, bad input named."""
import json
import re
import sqlite3
import time
from datetime import datetime

import jsonschema
import requests
import websocket
import yaml

from camera_helpers import (FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns, parse_time,
                            recording_of, wait_buffered, wait_log)
from simfleet import SimFleet
from zaulekd_fixture import SOURCE_DIR, wait_until

enter_netns()

USER = "ruleadmin"
PASSWORD = "Rr-Secret-70e1c4"
PRE_S, POST_S = 2, 2
GOP_S = 2  # the simulator's main stream
CONFIG = FAST_CAMERAS_TOML + f"""
[discovery]
interfaces = []
[recording]
segment_seconds = 5
pre_event_s = {PRE_S}
post_event_s = {POST_S}

[[rules]]
id = "gate"
kinds = ["line_crossing"]
priority = 4
record = true
bookmark = true
"""


def json_schema(node):
    """OpenAPI 3.0 schema -> JSON Schema: `nullable: true` becomes a null type."""
    if isinstance(node, list):
        return [json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    return out


SPEC = json_schema(yaml.safe_load((SOURCE_DIR / "docs" / "api" / "openapi.yaml").read_text()))


def validate(name, instance):
    """instance satisfies docs/api/openapi.yaml's schema `name`."""
    jsonschema.validate(instance, {"$ref": f"#/components/schemas/{name}",
                                   "components": SPEC["components"]})


def segments(d, camera_id):
    db = sqlite3.connect(f"file:{d.dir / 'storage' / 'zaulek.db'}?mode=ro", uri=True, timeout=10)
    try:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(
            "SELECT * FROM segments WHERE camera_id = ? ORDER BY start_ns", (camera_id,))]
    finally:
        db.close()


def events(d, h, cid):
    r = requests.get(d.url("/api/v1/events"), headers=h, params={"camera": cid}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["events"]


def poll(what, fn, limit_s=60):
    return wait_until(what, fn, limit_s, step=0.2)


def parts(d, camera_id):
    return list((d.dir / "storage" / camera_id).glob("*.part"))


def settled(d, camera_id):
    """The closed segments once nothing is being written and every segment
    file has its row; None before."""
    if parts(d, camera_id):
        return None
    segs = [s for s in segments(d, camera_id) if s["state"] == "closed"]
    files = list((d.dir / "storage" / camera_id).glob("*.ts"))
    return segs if len(segs) == len(files) else None


def iso(t_ns):
    return datetime.utcfromtimestamp(t_ns / 1e9).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def test_record_rule_records_only_its_events_and_bookmarks_the_alarm(make_daemon):
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    olga = d.bearer("olga")
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        r, _ = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, PASSWORD,
                          recording={"mode": "events", "retention_days": 7})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        wait_log(d, rf"events {re.escape(cid)}: subscribed")
        wait_log(d, r"driven by rules with record = true")
        rules = requests.get(d.url("/api/v1/rules"), headers=h, timeout=10).json()["rules"]
        gate = next(x for x in rules if x["id"] == "gate")
        validate("RuleList", {"rules": rules})
        assert (gate["record"], gate["bookmark"], gate["origin"]) == (True, True, "config"), gate
        wait_buffered(d, h, cid, PRE_S + GOP_S + 0.5)

        # Motion: stored as an event, but no rule records it.
        sim.post_event(0, "motion", True)
        time.sleep(1.5)  # the motion lasts 1.5 s: the input under test, not a synchronization
        sim.post_event(0, "motion", False)
        # Proof that zaulekd had the motion: both are stored, the start 1.5 s
        # before; a recording it had started would have written the
        # pre-buffer at the next frame (frames > 0, a segment being written).
        poll("motion start and stop events", lambda: {
            e["state"] for e in events(d, h, cid) if e["kind"] == "motion"} >= {"start", "stop"})
        assert recording_of(d, cid, h)["frames"] == 0, "motion recorded"
        assert not parts(d, cid), "motion recorded although only line_crossing records"
        assert segments(d, cid) == [], "motion recorded although only line_crossing records"

        # A line crossing (a pulse): footage from pre_event before to post_event after.
        fired = sim.post_event(0, "line_crossing", True)
        t_ns = fired["time_ns"]

        def covered():
            segs = settled(d, cid)
            return segs if segs and segs[-1]["end_ns"] >= t_ns + (POST_S - 0.3) * 1e9 else None
        # Until the crossing's footage is closed: nothing is written any more
        # and every file has its row (no later segment can join the last).
        segs = poll("segment after the line crossing, closed and indexed", covered)
        pre = (t_ns - segs[0]["start_ns"]) / 1e9
        post = (segs[-1]["end_ns"] - t_ns) / 1e9
        print(f"line crossing: {len(segs)} segments, pre-event {pre:.2f} s, "
              f"post-event {post:.2f} s")
        assert PRE_S - 0.3 <= pre <= PRE_S + GOP_S + 0.5, pre
        assert POST_S - 0.3 <= post <= POST_S + 1.5, post
        for a, b in zip(segs, segs[1:]):
            assert 0 <= b["start_ns"] - a["end_ns"] < 10**9, (a, b)
        assert all(s["bytes"] > 0 for s in segs)

        # The alarm raised by gate, and its bookmark at the event's time.
        alarms = poll("gate alarm", lambda: [a for a in requests.get(
            d.url("/api/v1/alarms"), headers=olga, params={"camera": cid},
            timeout=10).json()["alarms"] if a["rule_id"] == "gate"])
        assert len(alarms) == 1 and alarms[0]["kind"] == "line_crossing", alarms
        marks = poll("bookmark", lambda: requests.get(
            d.url("/api/v1/bookmarks"), headers=olga, params={"camera": cid},
            timeout=10).json()["bookmarks"])
        assert len(marks) == 1, marks
        b = marks[0]
        validate("Bookmark", b)
        assert b["alarm_id"] == alarms[0]["id"] and b["rule_id"] == "gate", b
        assert b["created_by"] == "system" and b["until"] is None, b
        assert abs(parse_time(b["time"]) - parse_time(fired["time"])) < 0.002, (b, fired)
        assert segs[0]["start_ns"] < t_ns < segs[-1]["end_ns"]
        # The recordings timeline carries it too.
        timeline = requests.get(d.url(f"/api/v1/cameras/{cid}/recordings"), headers=olga,
                                params={"from": iso(t_ns - 60 * 10**9)}, timeout=10).json()
        assert [m["id"] for m in timeline["bookmarks"]] == [b["id"]], timeline
        validate("Recordings", timeline)

        # A second crossing folds into the open alarm: no second bookmark. The
        # folded alarm is published (WebSocket) after any bookmark is written.
        ws = websocket.create_connection(f"ws://127.0.0.1:{d.port}/api/v1/ws", timeout=10,
                                         header=["Authorization: " + olga["Authorization"]])
        try:
            assert json.loads(ws.recv())["type"] == "hello"
            sim.post_event(0, "line_crossing", True)

            def folded_published():
                try:
                    m = json.loads(ws.recv())
                except websocket.WebSocketTimeoutException:
                    return None
                return m if (m.get("type"), m.get("rule_id"), m.get("count")) == (
                    "alarm", "gate", 2) else None
            poll("the folded alarm on the WebSocket", folded_published, limit_s=30)
        finally:
            ws.close()
        poll("folded alarm", lambda: [a for a in requests.get(
            d.url("/api/v1/alarms"), headers=olga, params={"camera": cid},
            timeout=10).json()["alarms"] if a["rule_id"] == "gate" and a["count"] == 2])
        all_marks = requests.get(d.url("/api/v1/bookmarks"), headers=olga,
                                 params={"camera": cid}, timeout=10).json()["bookmarks"]
        assert [m["id"] for m in all_marks] == [b["id"]], all_marks

        # Bookmarks over the API: an operator marks, an investigator deletes.
        mine = requests.post(d.url("/api/v1/bookmarks"), headers=olga,
                             json={"camera_id": cid, "time": iso(t_ns + 10**9),
                                   "note": "man at the gate"}, timeout=10)
        assert mine.status_code == 201, mine.text
        assert mine.json()["created_by"] == "olga" and mine.json()["alarm_id"] is None
        listed = requests.get(d.url("/api/v1/bookmarks"), headers=d.bearer("iwona"),
                              params={"camera": cid, "from": iso(t_ns - 10**9)},
                              timeout=10).json()["bookmarks"]
        assert [m["id"] for m in listed] == [b["id"], mine.json()["id"]], listed
        validate("Bookmark", mine.json())
        for body, needle in (({"camera_id": cid}, "'time'"),
                             ({"camera_id": cid, "time": "noon"}, "'time'"),
                             ({"camera_id": "../x", "time": iso(t_ns)}, "'camera_id'"),
                             ({"camera_id": cid, "time": iso(t_ns), "until": iso(t_ns)},
                              "'until'"),
                             ({"camera_id": cid, "time": iso(t_ns), "colour": "red"}, "colour"),
                             ({"camera_id": cid, "time": iso(t_ns), "note": "x" * 5000},
                              "'note'")):
            bad = requests.post(d.url("/api/v1/bookmarks"), headers=olga, json=body, timeout=10)
            assert bad.status_code == 400, (body, bad.text)
            assert needle in bad.json()["error"]["message"], (body, bad.text)
        missing = requests.post(d.url("/api/v1/bookmarks"), headers=olga,
                                json={"camera_id": "nope", "time": iso(t_ns)}, timeout=10)
        assert missing.status_code == 404, missing.text
        denied = requests.delete(d.url(f"/api/v1/bookmarks/{mine.json()['id']}"), headers=olga,
                                 timeout=10)
        assert denied.status_code == 403
        gone = requests.delete(d.url(f"/api/v1/bookmarks/{mine.json()['id']}"),
                               headers=d.bearer("iwona"), timeout=10)
        assert gone.status_code == 200, gone.text
        again = requests.delete(d.url(f"/api/v1/bookmarks/{mine.json()['id']}"),
                                headers=d.bearer("iwona"), timeout=10)
        assert again.status_code == 404
        audit = requests.get(d.url("/api/v1/audit"), headers=h, params={"limit": 1000},
                             timeout=10).json()["entries"]
        actions = [(e["actor"], e["action"]) for e in audit]
        for want in (("system", "bookmark.add"), ("olga", "bookmark.add"),
                     ("iwona", "bookmark.delete")):
            assert want in actions, (want, actions[-20:])
    code, _ = d.stop()
    assert code == 0
    assert PASSWORD not in d.stderr()
