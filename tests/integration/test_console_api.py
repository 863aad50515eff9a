"""The server side of the console's rest (issue 21), against the real zaulekd,
its real SQLite catalogue and the real simulator over loopback:

- a user's console preferences (GET/PUT/PATCH /api/v1/me/preferences): per
  user, every role, checked (errors by their exact text), bounded, merged,
  kept over a restart;
- the search of resolved alarms on the server (GET /api/v1/alarms?q=):
  every word in the note, the camera's id or name, the kind or the people,
  case and Polish letters aside, alternatives, paged newest first; the
  alarms are written into the catalogue while zaulekd is stopped (as many as
  a busy year leaves), so the search's time over them is printed (never
  asserted);
- choosing a camera's streams (GET /api/v1/cameras/{id}/profiles, PUT
  /api/v1/cameras/{id}/streams) on a simulated camera with two profiles:
  administrators only, the camera asked, tokens it does not list refused,
  audited, kept."""
import sqlite3
import time

import requests

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns
from simfleet import SimFleet
from zaulekd_fixture import ROLE_USERS

enter_netns()

USER = "c3admin"
PASSWORD = "Console3-Secret-71ab"
CONFIG = FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n"


def call(d, method, path, role="administrator", **kw):
    return requests.request(method, d.url(path), headers={**d.bearer(ROLE_USERS[role]),
                                                           **kw.pop("headers", {})},
                            timeout=30, **kw)


def error_message(r):
    return r.json()["error"]["message"]


GRID = {"layout": 9, "cells": ["cam-1", None, "cam-2"] + [None] * 13}


def test_preferences_per_user_checked_and_kept(daemon):
    d = daemon
    assert requests.get(d.url("/api/v1/me/preferences"), timeout=10).status_code == 401
    for role in ROLE_USERS:
        r = call(d, "GET", "/api/v1/me/preferences", role)
        assert r.status_code == 200, (role, r.text)
        assert r.json() == {"preferences": {}}
    # Every role keeps its own.
    for i, role in enumerate(ROLE_USERS):
        grid = {**GRID, "layout": [1, 4, 16][i]}
        r = call(d, "PUT", "/api/v1/me/preferences", role, json={"grid": grid, "lang": "en"})
        assert r.status_code == 200, r.text
        assert r.json()["preferences"] == {"grid": grid, "lang": "en"}
    for i, role in enumerate(ROLE_USERS):
        got = call(d, "GET", "/api/v1/me/preferences", role).json()["preferences"]
        assert got["grid"]["layout"] == [1, 4, 16][i], (role, got)

    # PATCH merges (RFC 7396): a member set, another removed, the rest kept.
    r = call(d, "PATCH", "/api/v1/me/preferences", json={"site": "3", "lang": None})
    assert r.status_code == 200, r.text
    assert r.json()["preferences"] == {"grid": {**GRID, "layout": 4}, "site": "3"}
    r = call(d, "PATCH", "/api/v1/me/preferences", json={"grid": GRID, "grid.site.3": GRID})
    assert r.json()["preferences"] == {"grid": GRID, "grid.site.3": GRID, "site": "3"}
    # PUT replaces.
    r = call(d, "PUT", "/api/v1/me/preferences", json={"site": "4"})
    assert r.json()["preferences"] == {"site": "4"}

    deep = {}
    node = deep
    for _ in range(8):
        node["a"] = {}
        node = node["a"]
    for body, words in [
        ([1, 2], "request body must be a JSON object"),
        ({"grid": {**GRID, "layout": 5}}, "'grid.layout' must be 1, 4, 9 or 16"),
        ({"grid": {"layout": 4}}, "'grid.cells' must be an array of at most 16 camera ids or nulls"),
        ({"grid": {**GRID, "cells": ["x"] * 17}},
         "'grid.cells' must be an array of at most 16 camera ids or nulls"),
        ({"grid": {**GRID, "cells": ["../etc"]}}, "'grid.cells' must hold camera ids or nulls"),
        ({"grid": {**GRID, "cells": [7]}}, "'grid.cells' must hold camera ids or nulls"),
        ({"grid": {**GRID, "zoom": 2}}, "'grid.zoom' is not a grid member (layout, cells)"),
        ({"grid": "9"}, "'grid' must be an object {layout, cells}"),
        ({"grid.site.3": {**GRID, "layout": 2}}, "'grid.site.3.layout' must be 1, 4, 9 or 16"),
        ({"lang": "de"}, "'lang' must be \"pl\" or \"en\""),
        ({"Grid": 1}, "preference name 'Grid' must be [a-z][a-z0-9_.-]{0,63}"),
        ({f"k{i}": i for i in range(65)}, "at most 64 preferences"),
        ({"deep": deep}, "preferences nest at most 8 deep"),
        ({"notes": "x" * 17000}, "preferences would take 17012 bytes; at most 16384"),
    ]:
        r = call(d, "PUT", "/api/v1/me/preferences", json=body)
        assert r.status_code == 400, (body, r.text)
        assert error_message(r) == words, (str(body)[:80], r.text)
    # A merge that would grow past the bound is refused too, and nothing changes.
    for i in range(3):
        r = call(d, "PATCH", "/api/v1/me/preferences", json={f"n{i}": "y" * 5000})
        assert r.status_code == 200, r.text
    r = call(d, "PATCH", "/api/v1/me/preferences", json={"n3": "y" * 5000})
    assert r.status_code == 400 and "at most 16384" in error_message(r), r.text
    got = call(d, "GET", "/api/v1/me/preferences").json()["preferences"]
    assert sorted(got) == ["n0", "n1", "n2", "site"], sorted(got)
    r = call(d, "PUT", "/api/v1/me/preferences", json={"grid": GRID})
    assert r.status_code == 200

    # Kept in the catalogue: the same after a restart.
    d.stop()
    d.start()
    assert call(d, "GET", "/api/v1/me/preferences").json()["preferences"] == {"grid": GRID}
    assert call(d, "GET", "/api/v1/me/preferences", "operator").json()["preferences"]["grid"][
        "layout"] == 1


def seed_alarms(db, camera, n_noise):
    """Resolved alarms written into the catalogue; returns {label: [ids]}."""
    con = sqlite3.connect(db)
    rows = []
    now = time.time_ns()
    marked = {"kot": [], "zaulek": [], "linia": [], "open": []}

    def add(kind, note, who="olga", state="resolved", cam=camera):
        i = len(rows) + 1
        rows.append((i, cam, kind, f"{cam}|{kind}|{i}", "r1", 3, state, i, i, now - i, now - i,
                     now - i, who if state == "resolved" else None,
                     now if state == "resolved" else None, note if state == "resolved" else None))
        return i

    for i in range(n_noise):
        add("motion", f"patrol sprawdził, nic {i}", cam="cam-other")
        if i % 40 == 0:
            marked["kot"].append(add("motion", f"Fałszywy alarm: KOT na murze ({i})"))
        if i % 1000 == 0:
            marked["zaulek"].append(add("intrusion", "Interwencja w Zaułku Św. Łucji", who="Łukasz"))
            marked["linia"].append(add("line_crossing", "rower", cam="cam-other"))
            marked["open"].append(add("tamper", None, state="new"))
    con.executemany(
        "INSERT INTO alarms (id, camera_id, kind, source_key, rule_id, priority, state, "
        "first_event_id, last_event_id, first_ns, last_ns, created_ns, resolved_by, resolved_ns, "
        "note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    marked["resolved"] = con.execute("SELECT count(*) FROM alarms WHERE state = 'resolved'").fetchone()[0]
    con.close()
    return marked


def search(d, q, role="administrator", **params):
    """Every page of ?state=resolved&q=...; returns (ids, pages, seconds)."""
    ids, pages, before = [], 0, None
    t0 = time.monotonic()
    while pages < 100:
        p = {"state": "resolved", "q": q, "limit": 50, **params}
        if before:
            p["before"] = before
        r = call(d, "GET", "/api/v1/alarms", role, params=p)
        assert r.status_code == 200, r.text
        pages += 1
        ids += [int(a["id"]) for a in r.json()["alarms"]]
        before = r.json()["next_before"]
        if not before:
            break
    return ids, pages, time.monotonic() - t0


def test_alarm_search_on_the_server(make_daemon):
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        d = make_daemon(extra_toml=CONFIG)
        r, _ = add_camera(d, admin_headers(d), sim.cameras[0]["onvif_url"], USER, PASSWORD,
                          name="Brama główna", recording={"mode": "off", "retention_days": 30})
        assert r.status_code == 201, r.text
        cam = r.json()["id"]
        d.stop()
        noise = 100_000
        marked = seed_alarms(d.dir / "storage" / "zaulek.db", cam, noise)
        d.start()

        # Every word, in the note, case and Polish letters aside; newest first, paged.
        ids, pages, took = search(d, "kot MURZE")
        assert ids == sorted(marked["kot"], reverse=True), (len(ids), len(marked["kot"]))
        assert pages == len(marked["kot"]) // 50 + 1
        print(f"q='kot murze' over {marked['resolved']} resolved alarms: "
              f"{len(ids)} found in {pages} pages, {took:.2f} s")
        ids, _, took = search(d, "zupelnie nic takiego")
        assert ids == []
        print(f"a search that finds nothing, over all {marked['resolved']} resolved alarms: "
              f"{took:.2f} s")
        # The camera's name and the people, folded.
        assert search(d, "brama ZAULKU lukasz")[0] == sorted(marked["zaulek"], reverse=True)
        assert search(d, "swiętej")[0] == []
        # The kind; an alternative ("przekroczenie|line_crossing"); with a camera.
        assert search(d, "line_crossing")[0] == sorted(marked["linia"], reverse=True)
        assert search(d, "przekroczenie|line_crossing rower")[0] == sorted(marked["linia"],
                                                                         reverse=True)
        assert search(d, "line_crossing", camera=cam)[0] == []
        # Only the state asked: the open tamper alarms are not among the resolved.
        assert search(d, "tamper")[0] == []
        r = call(d, "GET", "/api/v1/alarms", params={"state": "open", "q": "TAMPER brama"})
        assert [int(a["id"]) for a in r.json()["alarms"]] == sorted(marked["open"], reverse=True)
        # A user who does not see the camera finds nothing of it.
        users = call(d, "GET", "/api/v1/users").json()["users"]
        op = next(u for u in users if u["name"] == ROLE_USERS["operator"])
        r = call(d, "PATCH", f"/api/v1/users/{op['id']}", json={"cameras": []})
        assert r.status_code == 200, r.text
        assert search(d, "brama", "operator")[0] == []

        for q, words in [
            ("x" * 257, "query parameter 'q' must be at most 256 bytes of words without control "
                        "characters"),
            ("kot\x01", "query parameter 'q' must be at most 256 bytes of words without control "
                        "characters"),
            (" ".join(["a"] * 17), "query parameter 'q' has more than 16 words"),
            ("a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q", "at most 16 search words"),
        ]:
            r = call(d, "GET", "/api/v1/alarms", params={"state": "resolved", "q": q})
            assert r.status_code == 400, (q, r.text)
            assert error_message(r) == words, (q, r.text)
        # Blank words are no words: every resolved alarm.
        r = call(d, "GET", "/api/v1/alarms", params={"state": "resolved", "q": "  ", "limit": 3})
        assert r.status_code == 200 and len(r.json()["alarms"]) == 3


def test_choose_a_cameras_streams(make_daemon):
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        d = make_daemon(extra_toml=CONFIG)
        r, _ = add_camera(d, admin_headers(d), sim.cameras[0]["onvif_url"], USER, PASSWORD,
                          recording={"mode": "off", "retention_days": 30})
        assert r.status_code == 201, r.text
        cam = r.json()["id"]
        by_kind = {s["kind"]: s for s in r.json()["streams"]}
        assert (by_kind["main"]["profile_token"], by_kind["sub"]["profile_token"]) == ("main", "sub")

        for role in ("operator", "investigator"):
            assert call(d, "GET", f"/api/v1/cameras/{cam}/profiles", role).status_code == 403
            assert call(d, "PUT", f"/api/v1/cameras/{cam}/streams", role,
                        json={"main_profile": "sub", "sub_profile": "sub"}).status_code == 403
        r = call(d, "GET", f"/api/v1/cameras/{cam}/profiles")
        assert r.status_code == 200, r.text
        p = r.json()
        assert [(x["token"], x["encoding"], x["width"], x["height"]) for x in p["profiles"]] == [
            ("main", "H264", 1920, 1080), ("sub", "H264", 640, 360)], p
        assert (p["camera_id"], p["main_profile"], p["sub_profile"]) == (cam, "main", "sub")
        assert call(d, "GET", "/api/v1/cameras/nope/profiles").status_code == 404

        for body, status, words in [
            ({"main_profile": "sub"}, 400, "'sub_profile' is required (a string)"),
            ({"main_profile": "sub", "sub_profile": ""}, 400,
             "'sub_profile' must be a profile token (1 to 64 printable bytes)"),
            ({"main_profile": "sub", "sub_profile": "x" * 65}, 400, "'sub_profile' is longer than 64"),
            ({"main_profile": "sub", "sub_profile": "sub", "extra": 1}, 400,
             "unknown field 'extra' (main_profile, sub_profile)"),
            ({"main_profile": "nope", "sub_profile": "sub"}, 400,
             f"camera {cam} has no profile 'nope' (for the main stream)"),
            ({"main_profile": "main", "sub_profile": "gone"}, 400,
             f"camera {cam} has no profile 'gone' (for the sub stream)"),
        ]:
            r = call(d, "PUT", f"/api/v1/cameras/{cam}/streams", json=body)
            assert r.status_code == status, (body, r.text)
            assert error_message(r) == words, (body, r.text)
        assert call(d, "PUT", "/api/v1/cameras/nope/streams",
                    json={"main_profile": "sub", "sub_profile": "sub"}).status_code == 404

        # Both streams on the small profile: the URIs are the camera's own for it.
        r = call(d, "PUT", f"/api/v1/cameras/{cam}/streams",
                 json={"main_profile": "sub", "sub_profile": "sub"})
        assert r.status_code == 200, r.text
        by_kind = {s["kind"]: s for s in r.json()["streams"]}
        for kind in ("main", "sub"):
            s = by_kind[kind]
            assert (s["profile_token"], s["width"], s["height"]) == ("sub", 640, 360), s
            assert s["rtsp_uri"] == sim.cameras[0]["rtsp_sub"], (s, sim.cameras[0])
        got = call(d, "GET", f"/api/v1/cameras/{cam}").json()
        assert {s["kind"]: s["profile_token"] for s in got["streams"]} == {"main": "sub", "sub": "sub"}
        p = call(d, "GET", f"/api/v1/cameras/{cam}/profiles").json()
        assert (p["main_profile"], p["sub_profile"]) == ("sub", "sub")
        entries = call(d, "GET", "/api/v1/audit?limit=1000").json()["entries"]
        e = [x for x in entries if x["action"] == "camera.streams"]
        assert len(e) == 1 and e[0]["target"] == f"camera:{cam}", e
        assert e[0]["detail"] == {"main_profile": {"from": "main", "to": "sub"},
                                  "sub_profile": {"from": "sub", "to": "sub"}}, e

        # Kept over a restart (the catalogue's stream rows).
        d.stop()
        d.start()
        got = call(d, "GET", f"/api/v1/cameras/{cam}").json()
        assert {s["kind"]: s["profile_token"] for s in got["streams"]} == {"main": "sub", "sub": "sub"}
        r = call(d, "PUT", f"/api/v1/cameras/{cam}/streams",
                 json={"main_profile": "main", "sub_profile": "sub"})
        assert r.status_code == 200, r.text
        assert {s["kind"]: s["rtsp_uri"] for s in r.json()["streams"]} == {
            "main": sim.cameras[0]["rtsp_main"], "sub": sim.cameras[0]["rtsp_sub"]}
