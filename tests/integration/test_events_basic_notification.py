"""Basic Notification end to end: a simulated camera without a PullPoint
(fault no_pullpoint: CreatePullPointSubscription answers ActionNotSupported)
makes the real zaulekd fall back to wsnt:Subscribe with its own consumer URL
(POST /onvif/notify/{token}); the simulator POSTs wsnt:Notify there and the
event reaches a WebSocket console and GET /api/v1/events. A forged Notify
(unknown token) gets 404, a malformed one with the right token 400 and the
daemon stays up; deleting the camera unsubscribes and retires the token.
Latency figures are printed, never asserted."""
import json
import re
import secrets
import time

import requests
import websocket

from camera_helpers import (FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns, list_events,
                            parse_time,
                            wait_log)
from simfleet import SimFleet
from zaulekd_fixture import ROLE_USERS, wait_until

enter_netns()

USER = "bnadmin"
PASSWORD = "Bn-Secret-7d3a91"
EVENT_KEYS = {"type", "seq", "id", "camera_id", "time", "kind", "state", "topic", "source", "data"}
CONSUMER_RE = re.compile(r"notification subscription (\d+) for \d+ ms to (http://\S+)")

NOTIFY = """<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"
 xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:tt="http://www.onvif.org/ver10/schema"
 xmlns:tns1="http://www.onvif.org/ver10/topics"><SOAP-ENV:Body><wsnt:Notify>
<wsnt:NotificationMessage>
<wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">tns1:VideoSource/GlobalSceneChange/ImagingService</wsnt:Topic>
<wsnt:Message><tt:Message UtcTime="2026-01-01T00:00:00Z">
<tt:Source><tt:SimpleItem Name="Source" Value="vs0"/></tt:Source>
<tt:Data><tt:SimpleItem Name="State" Value="true"/></tt:Data>
</tt:Message></wsnt:Message></wsnt:NotificationMessage>
</wsnt:Notify></SOAP-ENV:Body></SOAP-ENV:Envelope>"""
SOAP = {"Content-Type": "application/soap+xml; charset=utf-8"}


def ws_connect(d, role="operator"):
    h = d.bearer(ROLE_USERS[role])
    ws = websocket.create_connection(f"ws://127.0.0.1:{d.port}/api/v1/ws", timeout=5,
                                     header=["Authorization: " + h["Authorization"]])
    assert json.loads(ws.recv())["type"] == "hello"
    return ws


def next_event(ws, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        m = json.loads(ws.recv())
        if m["type"] == "event" and m["kind"] != "health":
            return m
    raise AssertionError("no event message in time")


def metrics(d):
    r = requests.get(d.url("/metrics"), timeout=10)
    assert r.status_code == 200
    return r.text


def wait_metric(d, line, present=True, timeout=30):
    wait_until(f"metric line {line!r} {'present' if present else 'gone'}",
               lambda: (line in metrics(d).splitlines()) == present, timeout, step=0.2)


def consumers(sim, count=1, timeout=30):
    """(subscription id, consumer URL) from the simulator's log, once `count` showed."""
    def found():
        got = CONSUMER_RE.findall(sim.log())
        return got if len(got) >= count else None
    return wait_until(f"{count} Subscribe at the camera", found, timeout, step=0.2,
                      detail=lambda: sim.log()[-3000:])


def test_camera_without_pullpoint_gets_basic_notification(make_daemon):
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        faults = sim.set_faults(0, no_pullpoint=True)
        assert faults["no_pullpoint"] is True
        d = make_daemon(extra_toml=FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n")
        h = admin_headers(d)
        r, _ = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, PASSWORD,
                          recording={"mode": "off", "retention_days": 30})
        assert r.status_code == 201, r.text
        cam = r.json()["id"]
        wait_log(d, rf"events {re.escape(cam)}: the camera has no PullPoint; using Basic "
                    r"Notification")
        wait_log(d, rf"events {re.escape(cam)}: subscribed \(Basic Notification\)")
        wait_metric(d, f'zaulek_event_subscription_mode{{camera="{cam}",mode="basic_notification"}} 1')
        assert "zaulek_notify_consumers 1" in metrics(d).splitlines()
        sub_id, consumer = consumers(sim)[-1]
        base = f"http://127.0.0.1:{d.port}/onvif/notify/"
        assert consumer.startswith(base), consumer
        token = consumer[len(base):]
        assert re.fullmatch(r"[0-9a-f]{64}", token), token

        # A motion fired at the camera arrives by Notify, on the console and stored.
        ws = ws_connect(d)
        latencies = []
        for state in (True, False):
            t = sim.post_event(0, "motion", state)
            m = next_event(ws)
            latencies.append((time.time() - parse_time(t["time"])) * 1000)
            assert set(m.keys()) == EVENT_KEYS, m
            assert m["camera_id"] == cam
            assert (m["kind"], m["state"]) == ("motion", "start" if state else "stop"), m
            assert m["topic"] == "tns1:RuleEngine/CellMotionDetector/Motion"
            assert m["data"] == {"IsMotion": "true" if state else "false"}
            assert abs(parse_time(m["time"]) - parse_time(t["time"])) < 0.002, (m, t)
            time.sleep(0.005)  # camera times are in ms: keeps the two apart (pacing)
        # Printed, never asserted (machines are noisy).
        print("sim event -> Notify -> console latency ms: " +
              ", ".join(f"{x:.1f}" for x in latencies))
        events = list_events(d, d.bearer(ROLE_USERS["operator"]), {"camera": cam})
        assert [(e["kind"], e["state"]) for e in events] == [("motion", "start"),
                                                              ("motion", "stop")], events

        # Forged: a well-formed Notify to tokens we never handed out.
        for fake in (secrets.token_hex(32), "1", token[:-1] + ("0" if token[-1] != "0" else "1"),
                     token.upper()):
            r = requests.post(d.url("/onvif/notify/" + fake), data=NOTIFY, headers=SOAP, timeout=10)
            assert r.status_code == 404, (fake, r.status_code, r.text)
            assert r.json()["error"]["code"] == "not_found"
        # Malformed with the right token: 400, nothing stored, the daemon stays up.
        bad_bodies = [
            ("<not xml", SOAP),
            ("<?xml version='1.0'?><a/>", SOAP),
            (NOTIFY.replace("wsnt:Notify>", "wsnt:Subscribe>"), SOAP),
            (NOTIFY[: len(NOTIFY) // 2], SOAP),
            (NOTIFY, {"Content-Type": "application/json"}),
            (NOTIFY, {}),
            ("\x00\xff" * 1000, SOAP),
        ]
        for body, headers in bad_bodies:
            r = requests.post(consumer, data=body.encode("latin-1"), headers=headers, timeout=10)
            assert r.status_code == 400, (body[:60], headers, r.status_code, r.text)
            assert r.json()["error"]["code"] == "invalid_argument", r.text
        r = requests.post(consumer, data=b"<x>" + b"a" * (300 * 1024) + b"</x>", headers=SOAP,
                          timeout=10)
        assert r.status_code == 413, r.status_code
        assert requests.get(d.url("/healthz"), timeout=5).status_code == 200
        # A well-formed Notify with the right token is taken like the camera's own.
        r = requests.post(consumer, data=NOTIFY, headers=SOAP, timeout=10)
        assert r.status_code == 202, r.text
        m = next_event(ws)
        assert (m["camera_id"], m["kind"], m["state"]) == (cam, "tamper", "start"), m
        assert m["topic"] == "tns1:VideoSource/GlobalSceneChange/ImagingService", m
        # And the camera's events still flow.
        sim.post_event(0, "line_crossing", True)
        m = next_event(ws)
        assert (m["kind"], m["state"]) == ("line_crossing", "pulse"), m
        ws.close()
        text = metrics(d)
        assert 'zaulek_notify_requests_total{outcome="unknown_token"} 4' in text.splitlines(), text
        assert "zaulek_notify_requests_total{outcome=\"rejected\"} 8" in text.splitlines(), text

        # Deleting the camera unsubscribes at the camera and retires the token.
        r = requests.delete(d.url(f"/api/v1/cameras/{cam}"), headers=h, timeout=10)
        assert r.status_code in (200, 204), r.text
        wait_until("the Unsubscribe at the camera",
                   lambda: f"subscription {sub_id} unsubscribed" in sim.log(), 30, step=0.2,
                   detail=lambda: sim.log()[-3000:])
        wait_metric(d, "zaulek_notify_consumers 0")
        r = requests.post(consumer, data=NOTIFY, headers=SOAP, timeout=10)
        assert r.status_code == 404, r.text
        assert f'camera="{cam}"' not in metrics(d)
        # The token is the consumer's credential: never in the daemon's log.
        assert token not in d.stderr()
        assert PASSWORD not in d.stderr()
