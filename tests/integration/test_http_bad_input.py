"""Hostile and broken HTTP: each gets a clear answer or a close, and the
daemon keeps serving everyone else."""
import socket
import time

import requests

from zaulekd_fixture import ROLE_USERS, wait_until


def raw(port, data, timeout=5.0):
    """Sends bytes, returns everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except (ConnectionResetError, socket.timeout):
            pass
        return b"".join(chunks)


def status_of(response_bytes):
    line = response_bytes.split(b"\r\n", 1)[0]
    return int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else None


def assert_healthy(d):
    assert requests.get(d.url("/healthz"), timeout=5).json() == {"status": "ok"}


def test_garbage_gets_400_or_close(make_daemon):
    d = make_daemon(users=False)
    for garbage in (b"\x00\x01\x02\xff\xfe garbage\r\n\r\n", b"GET\r\n\r\n",
                    b"HELLO / HTTP/9.9\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                    b"POST /api/v1/auth/login HTTP/1.1\r\nContent-Length: -5\r\n\r\n"):
        answer = raw(d.port, garbage)
        st = status_of(answer)
        assert st in (None, 400), (garbage, answer[:200])
        if st == 400:
            assert b'"code":"bad_request"' in answer
        assert_healthy(d)


def test_oversized_headers_431(make_daemon):
    d = make_daemon(users=False, server={"max_header_bytes": 2048})
    req = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n\r\n")
    answer = raw(d.port, req)
    assert status_of(answer) == 431, answer[:200]
    assert b"request_header_fields_too_large" in answer
    assert_healthy(d)


def test_oversized_body_413(make_daemon):
    d = make_daemon(users=False, server={"max_body_bytes": 4096})
    r = requests.post(d.url("/api/v1/auth/login"), data=b"{" + b" " * 10000 + b"}",
                      headers={"Content-Type": "application/json"}, timeout=5)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    # Chunked without a length: the limit holds as the body arrives.
    def chunks():
        for _ in range(10):
            yield b"x" * 1000
    r = requests.post(d.url("/api/v1/auth/login"), data=chunks(),
                      headers={"Content-Type": "application/json"}, timeout=5)
    assert r.status_code == 413
    assert_healthy(d)


def test_invalid_json_and_wrong_content_type(daemon):
    url = daemon.url("/api/v1/auth/login")
    r = requests.post(url, data="{not json", headers={"Content-Type": "application/json"},
                      timeout=5)
    assert r.status_code == 400
    assert r.json()["error"] == {"code": "invalid_argument",
                                 "message": "request body is not valid JSON"}
    r = requests.post(url, data="[1,2]", headers={"Content-Type": "application/json"}, timeout=5)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "request body must be a JSON object"
    r = requests.post(url, data="[" * 100000, headers={"Content-Type": "application/json"},
                      timeout=5)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "JSON nests too deeply"
    r = requests.post(url, data='{"username":"a","password":"b"}',
                      headers={"Content-Type": "text/plain"}, timeout=5)
    assert r.status_code == 415
    assert r.json()["error"]["code"] == "unsupported_media_type"
    r = requests.post(url, json={"username": 5, "password": "x"}, timeout=5)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "'username' must be a string"
    r = requests.post(url, json={"username": "a" * 100, "password": "x"}, timeout=5)
    assert r.status_code == 400
    auth = daemon.bearer(ROLE_USERS["administrator"])
    r = requests.get(daemon.url("/api/v1/audit?after=-1"), headers=auth, timeout=5)
    assert r.status_code == 400
    assert "'after'" in r.json()["error"]["message"]
    r = requests.get(daemon.url("/api/v1/audit?limit=abc"), headers=auth, timeout=5)
    assert r.status_code == 400
    assert_healthy(daemon)


def test_bad_and_revoked_tokens_401(daemon):
    me = daemon.url("/api/v1/auth/me")
    for h in ({"Authorization": "Bearer nonsense"}, {"Authorization": "Bearer " + "0" * 64},
              {"Authorization": "Basic YWRtaW46YWRtaW4="}, {"Cookie": "zaulek_session=" + "f" * 64},
              {}):
        r = requests.get(me, headers=h, timeout=5)
        assert r.status_code == 401, h
        assert r.json()["error"]["code"] == "unauthenticated"
        assert r.headers["WWW-Authenticate"] == "Bearer"
    token = daemon.login(ROLE_USERS["operator"])["token"]
    h = {"Authorization": "Bearer " + token}
    assert requests.get(me, headers=h, timeout=5).status_code == 200
    assert requests.post(daemon.url("/api/v1/auth/logout"), headers=h, timeout=5).status_code == 200
    r = requests.get(me, headers=h, timeout=5)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "invalid or expired token"


def test_expired_token_401_and_tokens_stored_only_hashed(daemon):
    import hashlib
    import sqlite3
    token = daemon.login(ROLE_USERS["operator"])["token"]
    h = {"Authorization": "Bearer " + token}
    me = daemon.url("/api/v1/auth/me")
    assert requests.get(me, headers=h, timeout=5).status_code == 200
    storage = daemon.dir / "storage"
    raw = b"".join(p.read_bytes() for p in storage.glob("zaulek.db*"))
    assert token.encode() not in raw, "the session token is stored in plain form"
    digest = hashlib.sha256(token.encode()).hexdigest()
    # Age the session in the catalogue as time would: it expired a second ago.
    db = sqlite3.connect(storage / "zaulek.db", timeout=10)
    with db:
        n = db.execute("UPDATE sessions SET expires_ns = ? WHERE token_hash = ?",
                       (time.time_ns() - 1_000_000_000, digest)).rowcount
    db.close()
    assert n == 1, "the session row is keyed by the token's SHA-256"
    r = requests.get(me, headers=h, timeout=5)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "invalid or expired token"
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert token not in daemon.stderr()


def test_slowloris_closed_after_read_timeout_while_others_served(make_daemon):
    d = make_daemon(users=False, server={"read_timeout_s": 2, "idle_timeout_s": 30})
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    served = 0
    closed_after = None
    # Trickle one header byte every 100 ms; the server must hang up anyway.
    for _ in range(60):
        try:
            s.sendall(b"X")
        except (BrokenPipeError, ConnectionResetError):
            closed_after = time.monotonic() - t0
            break
        assert requests.get(d.url("/healthz"), timeout=5).status_code == 200
        served += 1
        s.settimeout(0.1)
        try:
            if s.recv(1024) == b"":
                closed_after = time.monotonic() - t0
                break
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed_after = time.monotonic() - t0
            break
    s.close()
    assert closed_after is not None, "slow client was never closed"
    print(f"slowloris closed after {closed_after:.2f}s; {served} normal requests meanwhile")
    assert served >= 2
    # The socket closes before the handler logs; give the line a moment.
    wait_until("the log line for the slow client",
               lambda: "did not finish its request" in d.stderr(), 3)


def test_idle_keepalive_closed(make_daemon):
    d = make_daemon(users=False, server={"read_timeout_s": 5, "idle_timeout_s": 1})
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data = s.recv(65536)
    assert data.startswith(b"HTTP/1.1 200")
    s.settimeout(8)
    t0 = time.monotonic()
    assert s.recv(1024) == b""  # server closed the idle connection
    print(f"idle keep-alive closed after {time.monotonic() - t0:.2f}s")
    s.close()


def test_too_many_connections_503(make_daemon):
    d = make_daemon(users=False, server={"max_connections": 4, "idle_timeout_s": 30})
    held = [socket.create_connection(("127.0.0.1", d.port), timeout=5) for _ in range(4)]
    try:
        # Make sure the server has accepted all four (a request on each).
        for s in held:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200")
        answer = raw(d.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(answer) == 503, answer[:200]
        assert b"too many connections" in answer
    finally:
        for s in held:
            s.close()
    # Once they are gone the server serves again.
    def serves():
        try:
            return requests.get(d.url("/healthz"), timeout=5).status_code == 200
        except requests.ConnectionError:
            return False
    wait_until("the server serving again after the limit", serves, 5)
    assert "connection limit (4) reached" in d.stderr()
    m = requests.get(d.url("/metrics"), timeout=5).text
    rejected = [l for l in m.splitlines()
                if l.startswith('zaulek_http_connections_rejected_total{reason="total"} ')]
    assert len(rejected) == 1 and int(rejected[0].split()[1]) >= 1


def test_times_outside_1970_to_2200_are_refused_naming_the_field(daemon):
    """Nanoseconds since 1970 in 64 bits end in 2262: a bookmark at 3000-01-01
    was once stored as 1830. Such times are refused with the field's name."""
    h = daemon.bearer(ROLE_USERS["investigator"])
    cases = [
        ("/api/v1/bookmarks", {"camera_id": "cam-1", "time": "3000-01-01T00:00:00Z"}, "'time'"),
        ("/api/v1/bookmarks", {"camera_id": "cam-1", "time": "2026-01-01T00:00:00Z",
                               "until": "2262-04-12T00:00:00Z"}, "'until'"),
        ("/api/v1/holds", {"camera_id": "cam-1", "from": "1969-12-31T23:59:59Z",
                           "to": "2026-01-01T00:00:00Z", "reason": "case 7"}, "'from'"),
        ("/api/v1/holds", {"camera_id": "cam-1", "from": "2026-01-01T00:00:00Z",
                           "to": "9999-12-31T23:59:59Z", "reason": "case 7"}, "'to'"),
    ]
    for path, body, field in cases:
        r = requests.post(daemon.url(path), json=body, headers=h, timeout=5)
        assert r.status_code == 400, (path, body, r.text)
        message = r.json()["error"]["message"]
        assert message.startswith(field) and "from 1970 to 2200" in message, message
    r = requests.get(daemon.url("/api/v1/bookmarks"), headers=h,
                     params={"from": "0001-01-01T00:00:00Z"}, timeout=5)
    assert r.status_code == 400 and "'from'" in r.json()["error"]["message"], r.text
    assert_healthy(daemon)
