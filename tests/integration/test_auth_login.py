"""Login: cookie and CSRF, throttling per (user, client address) and per
client address (using distinct loopback source addresses), the client address
behind a trusted proxy (server.trusted_proxies, X-Forwarded-For), audit of
failures."""
import http.client
import json

import requests

from zaulekd_fixture import ROLE_USERS


def request_from(d, source_ip, method, path, body=None, headers=None):
    """One request from a chosen loopback source address: (status, headers, body)."""
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10, source_address=(source_ip, 0))
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def login_from(d, source_ip, user, password, forwarded_for=None):
    """POST /api/v1/auth/login from a chosen loopback source address."""
    headers = {"Content-Type": "application/json"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    st, h, body = request_from(d, source_ip, "POST", "/api/v1/auth/login",
                               json.dumps({"username": user, "password": password}), headers)
    return st, h, json.loads(body or b"{}")


def audit_entries(d, action):
    adam = ROLE_USERS["administrator"]
    token = d.login(adam)["token"]
    audit = requests.get(d.url("/api/v1/audit?limit=1000"),
                         headers={"Authorization": "Bearer " + token}, timeout=5).json()
    return [e for e in audit["entries"] if e["action"] == action]


# A window of 800 s makes the first delay 100 s (800/8): far longer than the
# test takes, so no assertion depends on how fast it runs.
SLOW = {"login_max_failures": 3, "login_window_s": 800}


def test_failures_elsewhere_never_lock_a_user_out(make_daemon):
    d = make_daemon(auth=SLOW)
    olga, adam = ROLE_USERS["operator"], ROLE_USERS["administrator"]
    for _ in range(3):
        st, _, body = login_from(d, "127.0.0.2", olga, "wrong-password")
        assert st == 401 and body["error"]["code"] == "unauthenticated"
    # olga is refused at 127.0.0.2, even with her password ...
    st, headers, body = login_from(d, "127.0.0.2", olga, d.passwords[olga])
    assert st == 429
    assert body["error"]["code"] == "resource_exhausted"
    assert 1 <= int(headers["Retry-After"]) <= 100
    # ... but not at her own workstation,
    st, _, body = login_from(d, "127.0.0.3", olga, d.passwords[olga])
    assert st == 200 and body["role"] == "operator"
    # and someone else at 127.0.0.2 is not refused either.
    st, _, body = login_from(d, "127.0.0.2", adam, d.passwords[adam])
    assert st == 200 and body["role"] == "administrator"
    log = d.stderr()
    assert "failed login for 'olga' from 127.0.0.2" in log
    assert "login for 'olga' from 127.0.0.2 refused: too many failures" in log
    assert "'olga' logged in from 127.0.0.3" in log


def test_rate_limit_per_address(make_daemon):
    d = make_daemon(auth=SLOW)
    adam = ROLE_USERS["administrator"]
    # An address is refused after 4 x login_max_failures failures for any names.
    names = [f"ghost{i}" for i in range(12)]
    for name in names:
        st, _, _ = login_from(d, "127.0.0.7", name, "guess-guess")
        assert st == 401
    st, headers, _ = login_from(d, "127.0.0.7", adam, d.passwords[adam])
    assert st == 429 and "Retry-After" in headers
    st, _, _ = login_from(d, "127.0.0.8", adam, d.passwords[adam])
    assert st == 200
    # Failures are audited with the address, never with the password.
    failed = audit_entries(d, "auth.login_failed")
    assert sorted((e["actor"], e["remote"]) for e in failed) == sorted(
        (n, "127.0.0.7") for n in names)
    limited = audit_entries(d, "auth.login_limited")
    assert len(limited) == 1 and limited[0]["remote"] == "127.0.0.7"
    assert "guess-guess" not in d.stderr()


def test_behind_a_trusted_proxy_the_forwarded_client_counts(make_daemon):
    d = make_daemon(server={"trusted_proxies": ["127.0.0.1"]}, auth=SLOW)
    olga = ROLE_USERS["operator"]
    # Two clients behind the proxy (127.0.0.1) are throttled separately.
    for _ in range(3):
        st, _, _ = login_from(d, "127.0.0.1", olga, "wrong-password", forwarded_for="192.0.2.10")
        assert st == 401
    st, headers, _ = login_from(d, "127.0.0.1", olga, d.passwords[olga],
                                forwarded_for="192.0.2.10")
    assert st == 429 and 1 <= int(headers["Retry-After"]) <= 100
    # A client cannot choose its address by writing one in front: the proxy
    # appends the address it saw, and only that right-most entry counts.
    st, _, _ = login_from(d, "127.0.0.1", olga, d.passwords[olga],
                          forwarded_for="192.0.2.11, 192.0.2.10")
    assert st == 429
    st, _, body = login_from(d, "127.0.0.1", olga, d.passwords[olga],
                             forwarded_for="192.0.2.11")
    assert st == 200 and body["role"] == "operator"
    failed = audit_entries(d, "auth.login_failed")
    assert [e["remote"] for e in failed] == ["192.0.2.10"] * 3
    assert "'olga' logged in from 192.0.2.11" in d.stderr()
    # /metrics: anonymous only from loopback; a remote client behind the proxy is not.
    st, _, _ = request_from(d, "127.0.0.1", "GET", "/metrics",
                            headers={"X-Forwarded-For": "192.0.2.10"})
    assert st == 401
    st, _, body = request_from(d, "127.0.0.1", "GET", "/metrics")
    assert st == 200 and b"zaulek_uptime_seconds" in body


def test_forwarded_for_from_an_untrusted_peer_is_ignored(make_daemon):
    d = make_daemon(server={"trusted_proxies": ["127.0.0.1"]}, auth=SLOW)
    olga = ROLE_USERS["operator"]
    # A new X-Forwarded-For each time does not escape throttling at 127.0.0.5.
    for i in range(3):
        st, _, _ = login_from(d, "127.0.0.5", olga, "wrong-password",
                              forwarded_for=f"192.0.2.{20 + i}")
        assert st == 401
    st, _, _ = login_from(d, "127.0.0.5", olga, d.passwords[olga], forwarded_for="192.0.2.30")
    assert st == 429
    failed = audit_entries(d, "auth.login_failed")
    assert [e["remote"] for e in failed] == ["127.0.0.5"] * 3
    # Nor does it make a loopback client remote (or the reverse) for /metrics.
    st, _, body = request_from(d, "127.0.0.5", "GET", "/metrics",
                               headers={"X-Forwarded-For": "192.0.2.10"})
    assert st == 200 and b"zaulek_uptime_seconds" in body


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
