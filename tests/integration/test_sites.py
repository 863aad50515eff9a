"""Sites (#21) against the real zaulekd: create, list, edit and delete by role,
the audit rows they leave, validation naming the field, duplicate names; plan
images uploaded, served as what they are and refused when hostile (wrong
type, lying Content-Type, truncated, oversized, a Content-Length that lies,
huge dimensions) without hurting the daemon; cameras of the real simulator
put in sites and placed on their plan, and the cameras and alarms lists
filtered by site, with the open alarms counted per site and camera
visibility respected."""
import hashlib
import json
import re
import socket
import struct
import zlib
from pathlib import Path

import jsonschema
import requests
import yaml

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns, wait_log
from simfleet import SimFleet
from zaulekd_fixture import ROLE_USERS, SOURCE_DIR, wait_until

enter_netns()

ADMIN, OPERATOR, INVESTIGATOR = (ROLE_USERS[r] for r in ("administrator", "operator",
                                                         "investigator"))
MAX_PLAN = 8 * 1024 * 1024


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
    if node.get("nullable") and "type" not in node:
        out = {"anyOf": [{"type": "null"}, out]}
    return out


SPEC = json_schema(yaml.safe_load((SOURCE_DIR / "docs" / "api" / "openapi.yaml").read_text()))


def validate(name, instance):
    jsonschema.validate(instance, {"$ref": f"#/components/schemas/{name}",
                                   "components": SPEC["components"]})


def png(width, height):
    """A real PNG (zlib data, CRCs) of one grey colour."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def png_header_only(width, height):
    """A PNG whose header claims a size; its one IDAT chunk is tiny."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


# A 16x8 baseline JPEG as ffmpeg writes it.
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010200000100010000fffe00104c61766335392e33372e31303000ffdb004300080404"
    "0404040505050505050606060606060606060606060607070708080807070706060707080808080909090808080809"
    "090a0a0a0c0c0b0b0e0e0e111114ffc4004c000101000000000000000000000000000000060101010000000000000000"
    "0000000000000607100100000000000000000000000000000000110100000000000000000000000000000000ffc00011"
    "080008001003012200021100031100ffda000c03010002110311003f008b00517f7fffd9")


def call(d, method, path, role="administrator", **kw):
    return requests.request(method, d.url(path), headers={**d.bearer(ROLE_USERS[role]),
                                                           **kw.pop("headers", {})},
                            timeout=30, **kw)


def audit_entries(d, action):
    r = call(d, "GET", "/api/v1/audit?limit=1000")
    assert r.status_code == 200, r.text
    return [e for e in r.json()["entries"] if e["action"] == action]


def error_message(r):
    return r.json()["error"]["message"]


def test_sites_by_role_validated_and_audited(daemon):
    d = daemon
    body = {"name": "Park Jordana", "address": "al. 3 Maja 11\n30-062 Kraków",
            "latitude": 50.0614, "longitude": 19.9165, "plan_x": 0.25, "plan_y": 0.5}
    for role in ("operator", "investigator"):
        r = call(d, "POST", "/api/v1/sites", role, json=body)
        assert r.status_code == 403, r.text
    r = call(d, "POST", "/api/v1/sites", json=body)
    assert r.status_code == 201, r.text
    site = r.json()
    validate("Site", site)
    sid = site["id"]
    assert site["name"] == "Park Jordana" and site["address"] == body["address"]
    assert (site["latitude"], site["longitude"]) == (50.0614, 19.9165)
    assert (site["plan_x"], site["plan_y"]) == (0.25, 0.5)
    assert site["plan"] is None and site["cameras"] == [] and site["open_alarms"] == 0
    r = call(d, "POST", "/api/v1/sites", json={"name": "Przejście podziemne"})
    assert r.status_code == 201, r.text
    other = r.json()["id"]
    assert r.json()["latitude"] is None and r.json()["address"] == ""

    # Every role lists and reads them, by name.
    for role in ROLE_USERS:
        r = call(d, "GET", "/api/v1/sites", role)
        assert r.status_code == 200, r.text
        validate("SiteList", r.json())
        assert [s["name"] for s in r.json()["sites"]] == ["Park Jordana", "Przejście podziemne"]
        r = call(d, "GET", f"/api/v1/sites/{sid}", role)
        assert r.status_code == 200 and r.json()["id"] == sid, r.text
    for bad_id in ("999", "abc", "0", "-1"):
        r = call(d, "GET", f"/api/v1/sites/{bad_id}", "operator")
        assert r.status_code == 404, (bad_id, r.text)

    # Validation: 400 naming the field; 409 on a taken name (ASCII case folded).
    for bad_body, words in [
        ({}, "'name' is required"),
        ({"name": ""}, "'name' must be 1 to 128 bytes"),
        ({"name": "   "}, "'name' must be 1 to 128 bytes"),
        ({"name": "x" * 129}, "'name'"),
        ({"name": "a\u0007b"}, "'name' must be 1 to 128 bytes of printable text"),
        ({"name": "a\nb"}, "'name' must be 1 to 128 bytes of printable text"),
        ({"name": 5}, "'name' must be a string"),
        ({"name": "n", "address": "x" * 513}, "'address'"),
        ({"name": "n", "address": "a\u001bb"}, "'address' has control characters"),
        ({"name": "n", "latitude": 91, "longitude": 0}, "'latitude' must be a number from -90 to 90"),
        ({"name": "n", "latitude": -90.5, "longitude": 0}, "'latitude'"),
        ({"name": "n", "latitude": 0, "longitude": 180.01},
         "'longitude' must be a number from -180 to 180"),
        ({"name": "n", "latitude": "50", "longitude": 19}, "'latitude' must be a number"),
        ({"name": "n", "latitude": 50}, "'latitude' and 'longitude' are given together"),
        ({"name": "n", "plan_x": 1.5, "plan_y": 0}, "'plan_x' must be a number from 0 to 1"),
        ({"name": "n", "plan_x": 0.5, "plan_y": None}, "'plan_y' must be a number from 0 to 1"),
        ({"name": "n", "colour": "red"}, "unknown field 'colour'"),
    ]:
        r = call(d, "POST", "/api/v1/sites", json=bad_body)
        assert r.status_code == 400, (bad_body, r.text)
        assert words in error_message(r), (bad_body, r.text)
    r = call(d, "POST", "/api/v1/sites", json=[1])
    assert r.status_code == 400 and "JSON object" in error_message(r), r.text
    r = call(d, "POST", "/api/v1/sites", json={"name": "PARK JORDANA"})
    assert r.status_code == 409, r.text
    assert error_message(r) == "a site named 'PARK JORDANA' exists"

    # PATCH: what is given changes; nulls clear; the audit says from and to.
    assert call(d, "PATCH", f"/api/v1/sites/{sid}", "operator",
                json={"name": "x"}).status_code == 403
    r = call(d, "PATCH", f"/api/v1/sites/{sid}",
             json={"name": "Park im. Jordana", "latitude": None, "longitude": None})
    assert r.status_code == 200, r.text
    validate("Site", r.json())
    assert r.json()["name"] == "Park im. Jordana" and r.json()["latitude"] is None
    assert r.json()["address"] == body["address"] and r.json()["plan_x"] == 0.25
    r = call(d, "PATCH", f"/api/v1/sites/{sid}", json={})
    assert r.status_code == 400 and "nothing to change" in error_message(r), r.text
    r = call(d, "PATCH", f"/api/v1/sites/{sid}", json={"name": "Przejście PODZIEMNE"})
    assert r.status_code == 409, r.text
    assert call(d, "PATCH", "/api/v1/sites/999", json={"name": "y"}).status_code == 404

    # DELETE: administrator only; gone after.
    assert call(d, "DELETE", f"/api/v1/sites/{other}", "operator").status_code == 403
    r = call(d, "DELETE", f"/api/v1/sites/{other}")
    assert r.status_code == 200 and r.json() == {"id": other, "status": "deleted"}, r.text
    assert call(d, "DELETE", f"/api/v1/sites/{other}").status_code == 404
    assert call(d, "GET", f"/api/v1/sites/{other}", "operator").status_code == 404

    # The audit trail, with who and what.
    added = audit_entries(d, "site.add")
    assert [e["target"] for e in added] == [f"site:{sid}", f"site:{other}"]
    assert added[0]["actor"] == ADMIN and added[0]["detail"]["latitude"] == 50.0614
    updated = audit_entries(d, "site.update")
    assert len(updated) == 1 and updated[0]["target"] == f"site:{sid}"
    assert updated[0]["detail"]["name"] == {"from": "Park Jordana", "to": "Park im. Jordana"}
    assert updated[0]["detail"]["latitude"] == {"from": 50.0614, "to": None}
    assert "address" not in updated[0]["detail"]
    deleted = audit_entries(d, "site.delete")
    assert len(deleted) == 1 and deleted[0]["target"] == f"site:{other}"
    assert deleted[0]["detail"]["name"] == "Przejście podziemne"


def put_plan(d, sid, data, content_type="image/png", role="administrator"):
    return call(d, "PUT", f"/api/v1/sites/{sid}/plan", role, data=data,
                headers={"Content-Type": content_type})


def raw_request(d, head, body=b"", shut=False, timeout=10):
    """Sends bytes as they are; returns what came back until the server closed
    (or the timeout). For requests a client library would not send."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=timeout)
    try:
        s.sendall(head + body)
        if shut:
            s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            got += chunk
        return got
    finally:
        s.close()


def test_plan_images_and_hostile_uploads(daemon):
    d = daemon
    r = call(d, "POST", "/api/v1/sites", json={"name": "Zaułek Bankowy"})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    plans = d.dir / "storage" / "plans"

    assert call(d, "GET", f"/api/v1/sites/{sid}/plan", "operator").status_code == 404
    first = png(320, 200)
    assert put_plan(d, sid, first, role="operator").status_code == 403
    assert put_plan(d, sid, first, role="investigator").status_code == 403
    r = put_plan(d, sid, first)
    assert r.status_code == 201, r.text
    validate("Site", r.json())
    plan = r.json()["plan"]
    assert plan["content_type"] == "image/png" and (plan["width"], plan["height"]) == (320, 200)
    assert plan["bytes"] == len(first) and plan["sha256"] == hashlib.sha256(first).hexdigest()
    for role in ROLE_USERS:
        g = call(d, "GET", f"/api/v1/sites/{sid}/plan", role)
        assert g.status_code == 200, g.text
        assert g.content == first
        assert g.headers["Content-Type"] == "image/png"
        assert g.headers["X-Content-Type-Options"] == "nosniff"
        assert g.headers["ETag"] == f'"{plan["sha256"]}"'
        assert "default-src 'self'" in g.headers["Content-Security-Policy"]
    assert [p.suffix for p in plans.iterdir()] == [".png"]

    # Replaced by a JPEG: served as a JPEG, the PNG file gone.
    r = put_plan(d, sid, JPEG, "image/jpeg")
    assert r.status_code == 200, r.text
    assert r.json()["plan"]["content_type"] == "image/jpeg"
    assert (r.json()["plan"]["width"], r.json()["plan"]["height"]) == (16, 8)
    g = call(d, "GET", f"/api/v1/sites/{sid}/plan", "operator")
    assert g.content == JPEG and g.headers["Content-Type"] == "image/jpeg"
    assert [p.suffix for p in plans.iterdir()] == [".jpg"]

    # Hostile uploads: a clear 4xx, and the plan stays what it was.
    gif = b"GIF89a\x10\x00\x08\x00\x80\x00\x00" + b"\x00" * 32
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"
    html = b"<html><script>alert(1)</script></html>"
    big = png_header_only(20000, 20000)
    for data, ctype, status, words in [
        (svg, "image/svg+xml", 415, "image/png or image/jpeg"),
        (html, "text/html", 415, "image/png or image/jpeg"),
        (b"{}", "application/json", 415, "image/png or image/jpeg"),
        (first, "", 415, "image/png or image/jpeg"),
        (svg, "image/png", 400, "not a PNG or JPEG file"),
        (html, "image/jpeg", 400, "not a PNG or JPEG file"),
        (gif, "image/png", 400, "not a PNG or JPEG file"),
        (JPEG, "image/png", 400, "the body is image/jpeg but Content-Type says image/png"),
        (first, "image/jpeg", 400, "the body is image/png but Content-Type says image/jpeg"),
        (first[:len(first) // 2], "image/png", 400, "PNG is truncated"),
        (first + b"<script>", "image/png", 400, "PNG has data after its IEND chunk"),
        (JPEG[:-2], "image/jpeg", 400, "JPEG is truncated"),
        (JPEG[:40], "image/jpeg", 400, "JPEG is truncated"),
        (b"", "image/png", 400, "the body is empty"),
        (big, "image/png", 400, "image is 20000x20000 pixels; at most 16384 per side"),
    ]:
        r = put_plan(d, sid, data, ctype)
        assert r.status_code == status, (ctype, data[:16], r.status_code, r.text)
        assert words in error_message(r), (ctype, data[:16], r.text)
    assert put_plan(d, "999", first).status_code == 404
    assert put_plan(d, "abc", first).status_code == 404

    # Over 8 MiB: refused from the Content-Length, before the body is read.
    token = d.login(ADMIN)["token"]
    head = (f"PUT /api/v1/sites/{sid}/plan HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: image/png\r\n"
            f"Content-Length: {MAX_PLAN + 1}\r\n\r\n").encode()
    got = raw_request(d, head)
    assert got.startswith(b"HTTP/1.1 413"), got[:200]
    assert b"payload_too_large" in got
    # Exactly 8 MiB is read and judged by its bytes (here: not an image).
    r = put_plan(d, sid, b"\x00" * MAX_PLAN)
    assert r.status_code == 400 and "not a PNG or JPEG file" in error_message(r), r.text
    # Chunked, with no length to refuse up front: cut off at the bound.
    def chunks():
        block = b"\x89PNG" + b"\x00" * (1024 * 1024 - 4)
        for _ in range(9):
            yield block
    r = requests.put(d.url(f"/api/v1/sites/{sid}/plan"), data=chunks(), timeout=30,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "image/png"})
    assert r.status_code == 413, r.text
    # The other routes keep server.max_body_bytes (1 MiB).
    r = requests.post(d.url("/api/v1/sites"), data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                      headers={"Authorization": f"Bearer {token}",
                               "Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413, r.text
    # A Content-Length that promises more than comes: the connection ends, no answer.
    head = (f"PUT /api/v1/sites/{sid}/plan HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: image/png\r\n"
            f"Content-Length: {len(first) + 1000}\r\n\r\n").encode()
    assert raw_request(d, head, first, shut=True) == b""
    # One that promises less: the body is cut there (truncated), the rest is
    # not taken as a request.
    head = (f"PUT /api/v1/sites/{sid}/plan HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: image/png\r\n"
            f"Content-Length: 40\r\n\r\n").encode()
    got = raw_request(d, head, first, shut=True)
    assert got.startswith(b"HTTP/1.1 400"), got[:200]
    assert b"PNG is truncated" in got
    assert b"HTTP/1.1 2" not in got

    # Through all of it the plan stayed the JPEG, and the daemon serves.
    g = call(d, "GET", f"/api/v1/sites/{sid}/plan", "operator")
    assert g.content == JPEG and g.headers["Content-Type"] == "image/jpeg"
    assert requests.get(d.url("/healthz"), timeout=5).status_code == 200
    assert [p.suffix for p in plans.iterdir()] == [".jpg"]

    audit = audit_entries(d, "site.plan")
    assert [(e["detail"]["content_type"], e["detail"]["bytes"]) for e in audit] == [
        ("image/png", len(first)), ("image/jpeg", len(JPEG))]
    assert audit[1]["detail"]["replaced"] == hashlib.sha256(first).hexdigest()

    # Removing the plan; then deleting the site leaves no file.
    assert call(d, "DELETE", f"/api/v1/sites/{sid}/plan", "operator").status_code == 403
    r = call(d, "DELETE", f"/api/v1/sites/{sid}/plan")
    assert r.status_code == 200 and r.json()["plan"] is None, r.text
    assert call(d, "GET", f"/api/v1/sites/{sid}/plan", "operator").status_code == 404
    assert call(d, "DELETE", f"/api/v1/sites/{sid}/plan").status_code == 404
    assert list(plans.iterdir()) == []
    assert len(audit_entries(d, "site.plan_delete")) == 1
    assert put_plan(d, sid, first).status_code == 201
    assert call(d, "DELETE", f"/api/v1/sites/{sid}").status_code == 200
    assert list(plans.iterdir()) == []
    assert d.proc.poll() is None


USER = "siteadmin"
PASSWORD = "Si-Secret-7c1d"
RULES_TOML = """
[[rules]]
id = "motion"
kinds = ["motion"]
priority = 3
"""


def test_cameras_and_alarms_by_site(make_daemon):
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        d = make_daemon(extra_toml=FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n"
                        + RULES_TOML)
        h = admin_headers(d)
        cams = []
        for i in range(2):
            r, _ = add_camera(d, h, sim.cameras[i]["onvif_url"], USER, PASSWORD,
                              recording={"mode": "off", "retention_days": 30})
            assert r.status_code == 201, r.text
            assert r.json()["site_id"] is None and r.json()["plan_x"] is None
            cams.append(r.json()["id"])
        for c in cams:
            wait_log(d, rf"events {re.escape(c)}: subscribed")
        a, b = cams
        r = call(d, "POST", "/api/v1/sites", json={"name": "Aleja"})
        assert r.status_code == 201, r.text
        site = r.json()["id"]

        # A camera joins the site and gets a place on its plan.
        for patch, status, words in [
            ({"site_id": 4242}, 404, "no site with id 4242"),
            ({"site_id": "x"}, 400, "'site_id' must be a site id or null"),
            ({"site_id": 0}, 400, "'site_id' must be a site id or null"),
            ({"plan_x": 0.5, "plan_y": 0.5}, 400, "need the camera in a site"),
            ({"site_id": site, "plan_x": 2, "plan_y": 0.5}, 400, "'plan_x' must be a number"),
            ({"site_id": site, "plan_x": 0.5}, 400, "are given together"),
        ]:
            r = call(d, "PATCH", f"/api/v1/cameras/{a}", json=patch)
            assert r.status_code == status, (patch, r.text)
            assert words in error_message(r), (patch, r.text)
        assert call(d, "PATCH", f"/api/v1/cameras/{a}", "operator",
                    json={"site_id": site}).status_code == 403
        r = call(d, "PATCH", f"/api/v1/cameras/{a}",
                 json={"site_id": int(site), "plan_x": 0.25, "plan_y": 0.75})
        assert r.status_code == 200, r.text
        validate("Camera", r.json())
        assert (r.json()["site_id"], r.json()["plan_x"], r.json()["plan_y"]) == (site, 0.25, 0.75)
        r = call(d, "GET", f"/api/v1/cameras/{a}", "operator")
        assert r.json()["site_id"] == site and r.json()["plan_y"] == 0.75
        upd = [e for e in audit_entries(d, "camera.update") if e["target"] == f"camera:{a}"]
        assert upd[-1]["detail"]["site_id"] == {"from": None, "to": site}
        assert upd[-1]["detail"]["plan_position"] == {"from": None, "to": [0.25, 0.75]}

        # The cameras list by site.
        def listed(query, role="operator"):
            r = call(d, "GET", "/api/v1/cameras" + query, role)
            assert r.status_code == 200, r.text
            return [c["id"] for c in r.json()["cameras"]]
        assert listed(f"?site={site}") == [a]
        assert listed("?site=none") == [b]
        assert sorted(listed("")) == sorted(cams)
        for query, status in [("?site=abc", 400), ("?site=0", 400), ("?site=999", 404)]:
            r = call(d, "GET", "/api/v1/cameras" + query, "operator")
            assert r.status_code == status, (query, r.text)

        # A site with a camera is not deleted.
        r = call(d, "DELETE", f"/api/v1/sites/{site}")
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "site_not_empty" and a in error_message(r)

        # Alarms of both cameras; the site's open alarms and the alarms filter.
        sim.post_event(0, "motion", True)
        sim.post_event(1, "motion", True)

        def open_alarms():
            r = call(d, "GET", "/api/v1/alarms?state=open", "operator")
            return {x["camera_id"] for x in r.json()["alarms"]} == {a, b}
        wait_until("alarms of both cameras", open_alarms)
        r = call(d, "GET", f"/api/v1/alarms?site={site}", "operator")
        assert r.status_code == 200, r.text
        assert {x["camera_id"] for x in r.json()["alarms"]} == {a}
        r = call(d, "GET", "/api/v1/alarms?site=none&state=open", "operator")
        assert {x["camera_id"] for x in r.json()["alarms"]} == {b}
        assert call(d, "GET", "/api/v1/alarms?site=999", "operator").status_code == 404
        assert call(d, "GET", "/api/v1/alarms?site=-3", "operator").status_code == 400
        r = call(d, "GET", "/api/v1/sites", "operator")
        validate("SiteList", r.json())
        (s,) = r.json()["sites"]
        assert s["open_alarms"] == 1
        assert s["cameras"] == [{"id": a, "name": s["cameras"][0]["name"], "plan_x": 0.25,
                                 "plan_y": 0.75, "open_alarms": 1}]

        # A user who may see only camera b sees the site without a, and no
        # alarms of a through the site filter.
        users = call(d, "GET", "/api/v1/users").json()["users"]
        olga = next(u for u in users if u["name"] == OPERATOR)
        r = call(d, "PATCH", f"/api/v1/users/{olga['id']}", json={"cameras": [b]})
        assert r.status_code == 200, r.text
        r = call(d, "GET", "/api/v1/sites", "operator")
        (s,) = r.json()["sites"]
        assert s["cameras"] == [] and s["open_alarms"] == 0
        assert call(d, "GET", f"/api/v1/alarms?site={site}", "operator").json()["alarms"] == []
        assert listed(f"?site={site}") == []

        # Moving the camera to another site clears its place on the old plan;
        # out of every site, the site can go.
        r = call(d, "POST", "/api/v1/sites", json={"name": "Skwer"})
        other = r.json()["id"]
        r = call(d, "PATCH", f"/api/v1/cameras/{a}", json={"site_id": other})
        assert r.status_code == 200, r.text
        assert (r.json()["site_id"], r.json()["plan_x"]) == (other, None)
        r = call(d, "PATCH", f"/api/v1/cameras/{a}", json={"site_id": None})
        assert r.status_code == 200 and r.json()["site_id"] is None, r.text
        assert call(d, "DELETE", f"/api/v1/sites/{site}").status_code == 200
        assert listed("?site=none", "administrator") == cams


def test_camera_added_in_a_site_and_site_messages(make_daemon):
    """POST /api/v1/cameras takes site_id and a place on the plan; every
    change of a site, its plan or a camera's site is a `site` message on the
    console WebSocket (docs/events.md), the camera's only to those who may
    see the camera."""
    import websocket
    from test_ws_hub import recv_json, recv_until, ws_url

    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        d = make_daemon(extra_toml=FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n")
        h = admin_headers(d)

        def connect(role):
            ws = websocket.create_connection(ws_url(d), timeout=5, header=[
                "Authorization: " + d.bearer(ROLE_USERS[role])["Authorization"]])
            assert recv_json(ws)["type"] == "hello"
            return ws

        def site_message(ws, **want):
            m, _ = recv_until(ws, lambda m: m.get("type") == "site"
                              and all(m.get(k) == v for k, v in want.items()))
            return m

        op = connect("operator")
        r = call(d, "POST", "/api/v1/sites", json={"name": "Podwórze"})
        assert r.status_code == 201, r.text
        site = r.json()["id"]
        m = site_message(op, change="added")
        assert m["site_id"] == site and isinstance(m["seq"], int)

        # Refused before the device is asked: no such site, a place without a site.
        off = {"mode": "off", "retention_days": 30}
        for extra, status, words in [
            ({"site_id": 999}, 404, "no site with id 999"),
            ({"site_id": "x"}, 400, "'site_id' must be a site id or null"),
            ({"plan_x": 0.5, "plan_y": 0.5}, 400, "need the camera in a site"),
            ({"site_id": site, "plan_x": 0.5}, 400, "are given together"),
            ({"site_id": site, "plan_x": 0.5, "plan_y": -1}, 400, "'plan_y' must be a number"),
        ]:
            r, _ = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, PASSWORD, recording=off, **extra)
            assert r.status_code == status, (extra, r.text)
            assert words in error_message(r), (extra, r.text)
        assert call(d, "GET", "/api/v1/cameras").json()["cameras"] == []

        r, _ = add_camera(d, h, sim.cameras[0]["onvif_url"], USER, PASSWORD, recording=off,
                          site_id=int(site), plan_x=0.1, plan_y=0.2)
        assert r.status_code == 201, r.text
        validate("Camera", r.json())
        a = r.json()["id"]
        assert (r.json()["site_id"], r.json()["plan_x"], r.json()["plan_y"]) == (site, 0.1, 0.2)
        m = site_message(op, change="camera", camera_id=a)
        assert (m["site_id"], m["previous_site_id"], m["plan_x"], m["plan_y"]) == (site, None, 0.1, 0.2)
        added = [e for e in audit_entries(d, "camera.add") if e["target"] == f"camera:{a}"]
        assert added[-1]["detail"]["site_id"] == site
        r = call(d, "GET", f"/api/v1/sites/{site}", "operator")
        assert [c["id"] for c in r.json()["cameras"]] == [a]
        r, _ = add_camera(d, h, sim.cameras[1]["onvif_url"], USER, PASSWORD, recording=off, site_id=None)
        assert r.status_code == 201 and r.json()["site_id"] is None, r.text
        b = r.json()["id"]

        # An investigator who may see only camera b: the site's own messages,
        # never camera a's.
        users = call(d, "GET", "/api/v1/users").json()["users"]
        ivan = next(u for u in users if u["name"] == INVESTIGATOR)
        assert call(d, "PATCH", f"/api/v1/users/{ivan['id']}", json={"cameras": [b]}).status_code == 200
        inv = connect("investigator")

        r = call(d, "PATCH", f"/api/v1/cameras/{a}", json={"plan_x": 0.6, "plan_y": 0.4})
        assert r.status_code == 200, r.text
        m = site_message(op, change="camera", camera_id=a)
        assert (m["site_id"], m["previous_site_id"], m["plan_x"], m["plan_y"]) == (site, site, 0.6, 0.4)
        r = call(d, "PATCH", f"/api/v1/sites/{site}", json={"address": "ul. Długa 5"})
        assert r.status_code == 200, r.text
        for ws in (op, inv):
            m = site_message(ws, change="updated")
            assert m["site_id"] == site
        assert call(d, "PUT", f"/api/v1/sites/{site}/plan", data=png(40, 20),
                    headers={"Content-Type": "image/png"}).status_code == 201
        assert site_message(op, change="plan")["site_id"] == site
        m, seen = recv_until(inv, lambda m: m.get("type") == "site" and m.get("change") == "plan")
        assert not any(x.get("camera_id") == a for x in seen), seen
        assert call(d, "DELETE", f"/api/v1/sites/{site}/plan").status_code == 200
        assert site_message(op, change="plan")["site_id"] == site

        # Camera b joins; a leaves: both seen by the operator, b's by the investigator.
        assert call(d, "PATCH", f"/api/v1/cameras/{b}", json={"site_id": site}).status_code == 200
        m = site_message(inv, change="camera", camera_id=b)
        assert (m["site_id"], m["previous_site_id"], m["plan_x"]) == (site, None, None)
        assert call(d, "PATCH", f"/api/v1/cameras/{a}", json={"site_id": None}).status_code == 200
        m = site_message(op, change="camera", camera_id=a)
        assert (m["site_id"], m["previous_site_id"], m["plan_x"]) == (None, site, None)
        # A name change alone is no site message; the next one the operator
        # gets is the deletion.
        assert call(d, "PATCH", f"/api/v1/cameras/{b}", json={"name": "Brama"}).status_code == 200
        assert call(d, "PATCH", f"/api/v1/cameras/{b}", json={"site_id": None}).status_code == 200
        assert call(d, "DELETE", f"/api/v1/sites/{site}").status_code == 200
        m, seen = recv_until(op, lambda m: m.get("type") == "site" and m.get("change") == "deleted")
        assert [x.get("camera_id") for x in seen if x.get("type") == "site"] == [b, None], seen
        op.close()
        inv.close()
