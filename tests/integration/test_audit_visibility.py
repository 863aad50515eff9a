"""Audit entries filtered by camera visibility, with the real zaulekd, the
real simulator (two cameras A and B) and real users: an investigator
restricted to B never receives an audit entry that names A, whether A is
the entry's target, its camera_id, one of a rule's cameras or one of a
user's visible cameras before or after a change; not on GET /api/v1/audit,
not on her console. Entries that name only B, or no camera, she reads; the
administrator reads every one."""
import json
import re

import requests
import websocket

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns, wait_log
from simfleet import SimFleet
from zaulekd_fixture import ROLE_USERS, run_cli, wait_until

enter_netns()

USER = "audadmin"
PASSWORD = "Aud-Secret-2f7a90"
VERA = "vera"
VERA_PASSWORD = "password-vera-9e1"


def named_cameras(entry):
    """Every camera an audit entry names, as docs/api/openapi.yaml says."""
    out = set()
    if entry["target"].startswith("camera:"):
        out.add(entry["target"][len("camera:"):])
    detail = entry["detail"]
    if isinstance(detail.get("camera_id"), str):
        out.add(detail["camera_id"])
    for key in ("cameras", "from", "to"):
        if isinstance(detail.get(key), list):
            out.update(c for c in detail[key] if isinstance(c, str))
    return out


def audit(d, headers):
    r = requests.get(d.url("/api/v1/audit?limit=1000"), headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def test_restricted_investigator_reads_no_entry_naming_a_hidden_camera(make_daemon):
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        d = make_daemon(extra_toml=FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n")
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
        r = run_cli(["--config", str(d.config_path), "user", "add", VERA, "--role",
                     "investigator", "--cameras", cam_b], stdin_text=VERA_PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        vera_token = d.login(VERA, VERA_PASSWORD)["token"]
        vera_h = {"Authorization": "Bearer " + vera_token}
        console = websocket.create_connection(f"ws://127.0.0.1:{d.port}/api/v1/ws", timeout=10,
                                              header=["Authorization: Bearer " + vera_token])
        try:
            assert json.loads(console.recv())["type"] == "hello"
            users = {u["name"]: u for u in requests.get(d.url("/api/v1/users"), headers=admin,
                                                        timeout=10).json()["users"]}
            olga_id = users[ROLE_USERS["operator"]]["id"]

            def ok(r, status=(200, 201)):
                assert r.status_code in status, r.text
                return r

            # Entries that name A, each in another place.
            ok(requests.post(d.url("/api/v1/rules"), headers=admin, timeout=10,
                             json={"id": "rule-a", "cameras": [cam_a], "kinds": ["motion"]}))
            ok(requests.post(d.url("/api/v1/rules"), headers=admin, timeout=10,
                             json={"id": "rule-ab", "cameras": [cam_b, cam_a],
                                   "kinds": ["motion"]}))
            ok(requests.patch(d.url(f"/api/v1/users/{olga_id}"), headers=admin, timeout=10,
                              json={"cameras": [cam_a, cam_b]}))
            ok(requests.patch(d.url(f"/api/v1/users/{olga_id}"), headers=admin, timeout=10,
                              json={"cameras": [cam_b]}))  # from [A, B]: names A
            ok(requests.post(d.url("/api/v1/holds"), headers=admin, timeout=10,
                             json={"camera_id": cam_a, "from": "2026-01-01T00:00:00Z",
                                   "to": "2026-01-01T01:00:00Z", "reason": "case 1"}))
            ok(requests.post(d.url("/api/v1/bookmarks"), headers=admin, timeout=10,
                             json={"camera_id": cam_a, "time": "2026-01-01T00:30:00Z"}))
            ok(requests.patch(d.url(f"/api/v1/cameras/{cam_a}"), headers=admin, timeout=10,
                              json={"name": "Alley A"}))
            # Entries that name only B or no camera.
            ok(requests.post(d.url("/api/v1/rules"), headers=admin, timeout=10,
                             json={"id": "rule-b", "cameras": [cam_b], "kinds": ["motion"]}))
            ok(requests.patch(d.url(f"/api/v1/users/{olga_id}"), headers=admin, timeout=10,
                              json={"cameras": None}))  # from [B] to every camera
            ok(requests.post(d.url("/api/v1/rules"), headers=admin, timeout=10,
                             json={"id": "rule-all", "kinds": ["tamper"]}))
            ok(requests.post(d.url("/api/v1/bookmarks"), headers=admin, timeout=10,
                             json={"camera_id": cam_b, "time": "2026-01-01T00:40:00Z",
                                   "note": "last"}))

            # The console: everything up to the last entry (published in order).
            got = []

            def last_seen():
                msg = json.loads(console.recv())
                if msg.get("type") == "audit":
                    got.append(msg)
                return (msg.get("type") == "audit" and msg["action"] == "bookmark.add"
                        and msg["detail"].get("note") == "last")
            wait_until("vera's console to get the last entry", last_seen, 30, step=0)
        finally:
            console.close()

        assert not [m for m in got if cam_a in named_cameras(m)], got
        on_console = {(m["action"], m["target"]) for m in got}
        assert {("rule.add", "rule:rule-b"), ("rule.add", "rule:rule-all")} <= on_console

        mine = audit(d, vera_h)
        leaked = [e for e in mine if cam_a in named_cameras(e)]
        assert not leaked, leaked
        actions = {(e["action"], e["target"]) for e in mine}
        assert {("rule.add", "rule:rule-b"), ("rule.add", "rule:rule-all"),
                ("camera.add", "camera:" + cam_b)} <= actions, actions
        olga_changes = [e["detail"] for e in mine if e["action"] == "user.cameras"
                        and e["target"] == "user:" + ROLE_USERS["operator"]]
        assert olga_changes == [{"from": [cam_b], "to": None}], olga_changes

        every = audit(d, admin)
        named = [e for e in every if cam_a in named_cameras(e)]
        assert {(e["action"], e["target"]) for e in named} >= {
            ("rule.add", "rule:rule-a"), ("rule.add", "rule:rule-ab"),
            ("camera.update", "camera:" + cam_a), ("camera.add", "camera:" + cam_a)}
        assert {e["action"] for e in named} >= {"user.cameras", "hold.add", "bookmark.add"}
