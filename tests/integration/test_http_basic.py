"""The daemon's basic HTTP life: health, login, users, me, logout, errors,
security headers, the console, secrets never logged, clean SIGTERM."""
import time

import requests

from zaulekd_fixture import ROLE_USERS, wait_until

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def test_healthz_is_public_and_has_security_headers(daemon):
    r = requests.get(daemon.url("/healthz"), timeout=5)
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    for k, v in SECURITY_HEADERS.items():
        assert r.headers[k] == v
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP


def test_login_me_users_logout(daemon):
    admin = ROLE_USERS["administrator"]
    r = requests.post(daemon.url("/api/v1/auth/login"),
                      json={"username": admin, "password": daemon.passwords[admin]}, timeout=5)
    assert r.status_code == 200, r.text
    body = r.json()
    daemon.tokens.append(body["token"])
    assert body["role"] == "administrator"
    assert len(body["token"]) == 64 and len(body["csrf_token"]) == 64
    assert body["expires"].endswith("Z")
    assert r.headers["Cache-Control"] == "no-store"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("zaulek_session=" + body["token"])
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attr in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback

    auth = {"Authorization": "Bearer " + body["token"]}
    me = requests.get(daemon.url("/api/v1/auth/me"), headers=auth, timeout=5)
    assert me.status_code == 200
    assert me.json()["name"] == admin and me.json()["role"] == "administrator"

    users = requests.get(daemon.url("/api/v1/users"), headers=auth, timeout=5).json()["users"]
    assert sorted(u["name"] for u in users) == sorted(ROLE_USERS.values())
    assert all("password" not in str(u).lower() and "argon" not in str(u) for u in users)

    new_pw = "new-user-password-1"
    daemon.passwords["nowy"] = new_pw
    r = requests.post(daemon.url("/api/v1/users"), headers=auth,
                      json={"name": "nowy", "password": new_pw, "role": "operator"}, timeout=5)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "nowy" and r.json()["role"] == "operator"
    assert isinstance(r.json()["id"], str)
    # The same name again is a conflict.
    r = requests.post(daemon.url("/api/v1/users"), headers=auth,
                      json={"name": "nowy", "password": new_pw, "role": "operator"}, timeout=5)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "already_exists"
    # The new user can log in.
    assert daemon.login("nowy", new_pw)["role"] == "operator"

    # The audit trail shows the creation by adam, with the client address.
    audit = requests.get(daemon.url("/api/v1/audit?limit=1000"), headers=auth, timeout=5).json()
    created = [e for e in audit["entries"] if e["action"] == "user.create"
               and e["target"] == "user:nowy"]
    assert len(created) == 1
    assert created[0]["actor"] == admin and created[0]["remote"] == "127.0.0.1"
    assert created[0]["detail"] == {"role": "operator"}
    cli_created = [e for e in audit["entries"] if e["action"] == "user.create"
                   and e["actor"] == "cli"]
    assert len(cli_created) == 3

    out = requests.post(daemon.url("/api/v1/auth/logout"), headers=auth, timeout=5)
    assert out.status_code == 200
    again = requests.get(daemon.url("/api/v1/auth/me"), headers=auth, timeout=5)
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "unauthenticated"


def test_user_creation_rejects_bad_input(daemon):
    auth = daemon.bearer(ROLE_USERS["administrator"])
    cases = [
        ({"name": "x", "password": "short", "role": "operator"}, "at least 8"),
        ({"name": "bad name", "password": "long-enough-1", "role": "operator"}, "user name"),
        ({"name": "ok", "password": "long-enough-1", "role": "king"}, "'role'"),
        ({"name": "ok", "password": 12345678, "role": "operator"}, "'password'"),
        ({"password": "long-enough-1", "role": "operator"}, "'name'"),
    ]
    for body, fragment in cases:
        r = requests.post(daemon.url("/api/v1/users"), headers=auth, json=body, timeout=5)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["code"] == "invalid_argument"
        assert fragment in r.json()["error"]["message"], (body, r.text)


def test_unknown_path_and_wrong_method(daemon):
    r = requests.get(daemon.url("/api/v1/nope"), timeout=5)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = requests.delete(daemon.url("/healthz"), timeout=5)
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert r.headers["Allow"] == "GET"
    r = requests.get(daemon.url("/api/v1/auth/login"), timeout=5)
    assert r.status_code == 405


def test_console_is_served_and_traversal_blocked(daemon):
    r = requests.get(daemon.url("/"), timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Zaułek" in r.text and 'type="module" src="js/main.js"' in r.text
    # ES modules: a browser runs them only with a JavaScript MIME type.
    for path in ("/js/main.js", "/js/state/grid.js", "/js/lang/pl.js"):
        m = requests.get(daemon.url(path), timeout=5)
        assert m.status_code == 200, path
        assert m.headers["Content-Type"].startswith("text/javascript"), (path, m.headers)
    for bad in ("/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt", "/..%2fCMakeLists.txt",
                "/%2e%2e%2f%2e%2e%2fetc/passwd", "/.hidden", "/nonexistent.js"):
        # Raw request so that the client does not normalize the path.
        r = requests.Request("GET", daemon.url("/")).prepare()
        r.url = daemon.url(bad)
        resp = requests.Session().send(r, timeout=5)
        assert resp.status_code in (400, 404), bad
        assert "cmake_minimum_required" not in resp.text and "root:" not in resp.text


def test_metrics_from_loopback(daemon):
    requests.get(daemon.url("/healthz"), timeout=5)
    r = requests.get(daemon.url("/metrics"), timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    assert 'zaulek_build_info{version="' in text
    assert "zaulek_uptime_seconds " in text
    assert 'zaulek_http_requests_total{route="/healthz",method="GET",status="200"}' in text
    assert 'zaulek_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"}' in text


def test_sigterm_exits_zero_quickly_and_no_secret_in_log(daemon):
    tokens = [daemon.login(u)["token"] for u in ROLE_USERS.values()]
    # A failed login with a password-like string must not leak either.
    wrong = "wrong-secret-pw-42"
    r = requests.post(daemon.url("/api/v1/auth/login"),
                      json={"username": ROLE_USERS["operator"], "password": wrong}, timeout=5)
    assert r.status_code == 401
    # A keep-alive connection is open while we stop.
    s = requests.Session()
    assert s.get(daemon.url("/healthz"), timeout=5).status_code == 200
    code, seconds = daemon.stop()
    assert code == 0
    assert seconds < 5
    log = daemon.stderr()
    assert "listening on http://127.0.0.1:" in log
    assert "shutting down" in log
    for secret in [*daemon.passwords.values(), *tokens, *daemon.tokens, wrong]:
        assert secret not in log
    s.close()  # the keep-alive session stayed referenced (open) until here


def _request_in_flight_at_signal(daemon, sig):
    """A login whose body is still arriving when `sig` comes: it must get its
    answer, and the daemon then exits 0 within 5 s."""
    import json as _json
    import re
    import signal as _signal
    import socket
    body = _json.dumps({"username": ROLE_USERS["operator"],
                        "password": daemon.passwords[ROLE_USERS["operator"]]}).encode()
    head = (f"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode()
    s = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
    # A keep-alive GET /healthz first, the login's headers and a bit of its
    # body right behind it in the same write. The answer to the GET is the
    # proof that the daemon holds the login's headers and waits for its body:
    # the session reads on as soon as it has written (on its strand, where a
    # shutdown posted later finds it receiving).
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + head + body[:5])
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, f"connection closed before the /healthz answer: {buf!r}"
        buf += chunk
    first, rest = buf.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 200 "), first
    length = int(re.search(rb"(?im)^content-length: *(\d+)", first).group(1))
    while len(rest) < length:
        chunk = s.recv(65536)
        assert chunk, "connection closed inside the /healthz answer"
        rest += chunk
    reply = rest[length:]
    t0 = time.monotonic()
    signum = {"TERM": _signal.SIGTERM, "INT": _signal.SIGINT}[sig]
    daemon.proc.send_signal(signum)
    # The rest of the body only once the daemon is shutting down.
    wait_until("the daemon shutting down", lambda: f"signal {signum:d} received; shutting down"
               in daemon.stderr(), 5)
    s.sendall(body[5:])
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
    s.close()
    status = reply.split(b"\r\n", 1)[0]
    assert status == b"HTTP/1.1 200 OK", reply[:300]
    assert b'"token"' in reply
    code = daemon.proc.wait(timeout=10)
    seconds = time.monotonic() - t0
    assert code == 0
    assert seconds < 5, seconds
    log = daemon.stderr()
    assert f"signal {_signal.SIGTERM if sig == 'TERM' else _signal.SIGINT:d} received" in log, log


def test_sigterm_at_once_after_start_is_a_clean_stop(daemon):
    """A SIGTERM the moment the port file appears (the daemon is still
    starting its recorders, hub and timers) is a graceful stop, exit 0:
    the handler is registered before anything is announced."""
    for _ in range(5):
        code, _ = daemon.stop()
        assert code == 0, daemon.stderr()[-2000:]
        daemon.start()
    code, _ = daemon.stop()
    assert code == 0
    assert daemon.stderr().count("shutting down") == 6


def test_request_in_flight_at_sigterm_is_answered(daemon):
    _request_in_flight_at_signal(daemon, "TERM")


def test_request_in_flight_at_sigint_is_answered(daemon):
    _request_in_flight_at_signal(daemon, "INT")
