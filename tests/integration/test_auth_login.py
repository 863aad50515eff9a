"""Login: cookie and CSRF, rate limiting per user and per client address
(using distinct loopback source addresses), audit of failures."""
import http.client
import json

import requests

from zaulekd_fixture import ROLE_USERS


def login_from(d, source_ip, user, password):
    """POST /api/v1/auth/login from a chosen loopback source address."""
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10, source_address=(source_ip, 0))
    try:
        c.request("POST", "/api/v1/auth/login", body=json.dumps({"username": user,
                                                                 "password": password}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), json.loads(r.read() or b"{}")
    finally:
        c.close()


def test_rate_limit_per_user(make_daemon):
    d = make_daemon(auth={"login_max_failures": 3, "login_window_s": 60})
    olga, adam = ROLE_USERS["operator"], ROLE_USERS["administrator"]
    # Three failures for olga, each from a different address (no address hits its limit).
    for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        st, _, body = login_from(d, ip, olga, "wrong-password")
        assert st == 401 and body["error"]["code"] == "unauthenticated"
    # olga is now limited from anywhere, even with her password.
    st, headers, body = login_from(d, "127.0.0.5", olga, d.passwords[olga])
    assert st == 429
    assert body["error"]["code"] == "resource_exhausted"
    assert 1 <= int(headers["Retry-After"]) <= 60
    # Someone else from the same address is fine.
    st, _, body = login_from(d, "127.0.0.5", adam, d.passwords[adam])
    assert st == 200 and body["role"] == "administrator"
    log = d.stderr()
    assert "failed login for 'olga' from 127.0.0.2" in log
    assert "too many failures" in log


def test_rate_limit_per_address(make_daemon):
    d = make_daemon(auth={"login_max_failures": 3, "login_window_s": 60})
    adam = ROLE_USERS["administrator"]
    for name in ("ghost1", "ghost2", "ghost3"):
        st, _, _ = login_from(d, "127.0.0.7", name, "guess-guess")
        assert st == 401
    st, headers, _ = login_from(d, "127.0.0.7", adam, d.passwords[adam])
    assert st == 429 and "Retry-After" in headers
    st, _, _ = login_from(d, "127.0.0.8", adam, d.passwords[adam])
    assert st == 200
    # Failures are audited with the address, never with the password.
    token = d.login(adam)["token"]
    audit = requests.get(d.url("/api/v1/audit?limit=1000"),
                         headers={"Authorization": "Bearer " + token}, timeout=5).json()
    failed = [e for e in audit["entries"] if e["action"] == "auth.login_failed"]
    assert [(e["actor"], e["remote"]) for e in failed] == [
        ("ghost1", "127.0.0.7"), ("ghost2", "127.0.0.7"), ("ghost3", "127.0.0.7")]
    limited = [e for e in audit["entries"] if e["action"] == "auth.login_limited"]
    assert len(limited) == 1 and limited[0]["remote"] == "127.0.0.7"
    assert "guess-guess" not in json.dumps(audit)
    assert "guess-guess" not in d.stderr()


def test_cookie_session_needs_csrf(daemon):
    s = requests.Session()
    olga = ROLE_USERS["operator"]
    r = s.post(daemon.url("/api/v1/auth/login"),
               json={"username": olga, "password": daemon.passwords[olga]}, timeout=5)
    assert r.status_code == 200
    daemon.tokens.append(r.json()["token"])
    csrf = r.json()["csrf_token"]
    assert s.cookies.get("zaulek_session") == r.json()["token"]
    me = s.get(daemon.url("/api/v1/auth/me"), timeout=5)
    assert me.status_code == 200 and me.json()["csrf_token"] == csrf
    r = s.post(daemon.url("/api/v1/auth/logout"), timeout=5)
    assert r.status_code == 403
    assert "X-CSRF-Token" in r.json()["error"]["message"]
    r = s.post(daemon.url("/api/v1/auth/logout"), headers={"X-CSRF-Token": "0" * 64}, timeout=5)
    assert r.status_code == 403
    r = s.post(daemon.url("/api/v1/auth/logout"), headers={"X-CSRF-Token": csrf}, timeout=5)
    assert r.status_code == 200
    assert "Max-Age=0" in r.headers["Set-Cookie"]
    assert s.get(daemon.url("/api/v1/auth/me"), timeout=5).status_code == 401


def test_bearer_needs_no_csrf(daemon):
    h = daemon.bearer(ROLE_USERS["administrator"])
    r = requests.post(daemon.url("/api/v1/users"), headers=h,
                      json={"name": "bez-csrf", "password": "password-123", "role": "investigator"},
                      timeout=5)
    assert r.status_code == 201


def test_a_user_name_cannot_write_a_log_line_of_its_own(daemon):
    """The name in a login is the client's text: one with a newline is refused
    before anything logs it, and every log record is escaped into one line
    anyway (core/log.h escape_line, unit-tested), so no field can forge one."""
    forged = "nobody\n2026-01-01T00:00:00.000Z info auth: 'adam' logged in from 10.0.0.1\x1b[2J"
    st, _, body = login_from(daemon, "127.0.0.2", forged, "wrong-password")
    assert st in (400, 401), body
    st, _, body = login_from(daemon, "127.0.0.2", "nobody", "wrong-password")
    assert st == 401 and body["error"]["code"] == "unauthenticated"
    log = daemon.stderr()
    assert "failed login for 'nobody' from 127.0.0.2" in log  # proof that logins are logged
    assert not any(line.startswith("2026-01-01T00:00:00.000Z") for line in log.splitlines())
    assert "\x1b" not in log
