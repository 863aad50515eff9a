"""Walks EVERY route of the server's own table (zaulekd --list-routes) with
anonymous, operator, administrator and investigator, and asserts 401, 403 or
allowed exactly as the table says."""
import json
import re

import requests

from zaulekd_fixture import ROLE_USERS, run_cli

IDENTITIES = (None, "operator", "administrator", "investigator")


def route_table():
    r = run_cli(["--list-routes"])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def expected(route, role):
    """'allowed', 401 or 403 for this identity (tests run from loopback)."""
    if route["access"] == "public":
        return "allowed"
    if route["access"] == "loopback_or_roles":
        return "allowed"  # anonymous from loopback; roles are checked off-loopback (unit test)
    if role is None:
        return 401
    return "allowed" if role in route["roles"] else 403


def test_every_route_times_every_role(daemon):
    routes = route_table()
    assert len(routes) >= 9
    seen = set()
    results = []
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "1", route["path"])
        for role in IDENTITIES:
            headers = {"Content-Type": "application/json"}
            if role:
                # A fresh session each time: logout must not spoil later calls.
                headers["Authorization"] = "Bearer " + daemon.login(ROLE_USERS[role])["token"]
            r = requests.request(route["method"], daemon.url(path), headers=headers, data="{}",
                                 timeout=10)
            want = expected(route, role)
            got = r.status_code
            results.append((route["method"], route["path"], role, got))
            if want == "allowed":
                # Past auth: anything but 401/403, 405, or the router's own 404
                # (a handler may well say 404 for the made-up id "1").
                assert got not in (401, 403, 405), (route, role, got, r.text)
                # An empty body or a made-up id is the caller's mistake: never
                # an internal error (503 stays allowed: e.g. nothing to probe).
                assert got != 500, (route, role, got, r.text)
                if got == 404:
                    assert r.json()["error"]["message"] != "no such endpoint", (route, role)
            else:
                assert got == want, (route, role, got, r.text)
                assert r.json()["error"]["code"] == (
                    "unauthenticated" if want == 401 else "permission_denied")
            seen.add((route["method"], route["path"]))
    assert len(seen) == len(routes)
    for line in results:
        print(*line)


def test_route_table_is_what_the_contract_needs():
    routes = {(r["method"], r["path"]): r for r in route_table()}
    for key in [("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/logout"),
                ("GET", "/api/v1/auth/me"), ("GET", "/api/v1/users"), ("POST", "/api/v1/users"),
                ("GET", "/api/v1/audit"), ("GET", "/api/v1/ws"), ("GET", "/healthz"),
                ("GET", "/metrics")]:
        assert key in routes, key
    assert routes[("GET", "/healthz")]["access"] == "public"
    assert routes[("POST", "/api/v1/auth/login")]["access"] == "public"
    assert routes[("GET", "/api/v1/users")]["roles"] == ["administrator"]
    assert routes[("PATCH", "/api/v1/users/{id}")]["roles"] == ["administrator"]
    assert sorted(routes[("GET", "/api/v1/audit")]["roles"]) == ["administrator", "investigator"]
    assert routes[("GET", "/api/v1/ws")]["websocket"] is True
    everyone = ["administrator", "investigator", "operator"]
    assert sorted(routes[("GET", "/api/v1/bookmarks")]["roles"]) == everyone
    assert sorted(routes[("POST", "/api/v1/bookmarks")]["roles"]) == everyone
    assert sorted(routes[("DELETE", "/api/v1/bookmarks/{id}")]["roles"]) == [
        "administrator", "investigator"]
    # Sites (#21): everyone reads them and their plans; administrators change them.
    for key in [("GET", "/api/v1/sites"), ("GET", "/api/v1/sites/{id}"),
                ("GET", "/api/v1/sites/{id}/plan")]:
        assert sorted(routes[key]["roles"]) == everyone, key
    for key in [("POST", "/api/v1/sites"), ("PATCH", "/api/v1/sites/{id}"),
                ("DELETE", "/api/v1/sites/{id}"), ("PUT", "/api/v1/sites/{id}/plan"),
                ("DELETE", "/api/v1/sites/{id}/plan")]:
        assert routes[key]["roles"] == ["administrator"], key
