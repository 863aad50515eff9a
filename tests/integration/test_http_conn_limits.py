"""Connection limits per client address against the real daemon: hundreds of
idle TCP connections from one loopback address (127.0.0.2) take only that
address's budget of unauthenticated connections; the rest are refused with
503 and counted by reason in /metrics, while another address (127.0.0.3)
still gets /healthz, logs in and opens its WebSocket console. The idle ones
are closed after server.first_byte_timeout_s; an address's authenticated
connections are capped by server.max_connections_per_address."""
import http.client
import json
import re
import resource
import selectors
import socket
import time

import requests
import websocket

from zaulekd_fixture import ROLE_USERS, wait_until

IDLE = 300          # idle connections from 127.0.0.2
MAX_TOTAL = 200     # below IDLE: without a per-address cap they would starve everyone
PER_ADDRESS = 12
UNAUTHENTICATED = 6
FIRST_BYTE_S = 10


def rejected(d, reason):
    text = requests.get(d.url("/metrics"), timeout=10).text
    m = re.search(rf'^zaulek_http_connections_rejected_total\{{reason="{reason}"\}} (\d+)$',
                  text, re.M)
    assert m, f"no rejected count for {reason} in /metrics"
    return int(m.group(1))


def connect_from(d, source_ip, timeout=10):
    return socket.create_connection(("127.0.0.1", d.port), timeout=timeout,
                                    source_address=(source_ip, 0))


def http_from(d, source_ip, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10,
                                   source_address=(source_ip, 0))
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def ensure_fd_budget(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        assert hard == resource.RLIM_INFINITY or hard >= n, f"RLIMIT_NOFILE {hard} < {n}"
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, hard))


def wait_for(pred, what, timeout=30):
    wait_until(what, pred, timeout)


def test_idle_connections_from_one_address_leave_room_for_another(make_daemon):
    ensure_fd_budget(IDLE + 256)
    d = make_daemon(server={"max_connections": MAX_TOTAL,
                            "max_connections_per_address": PER_ADDRESS,
                            "max_unauthenticated_per_address": UNAUTHENTICATED,
                            "first_byte_timeout_s": FIRST_BYTE_S,
                            "idle_timeout_s": 60})
    idle = []
    try:
        for _ in range(IDLE):
            idle.append(connect_from(d, "127.0.0.2"))
        # All but the unauthenticated budget are refused as soon as accepted.
        wait_for(lambda: rejected(d, "unauthenticated") >= IDLE - UNAUTHENTICATED,
                 "the idle connections to be refused")
        assert rejected(d, "unauthenticated") == IDLE - UNAUTHENTICATED
        assert rejected(d, "per_address") == 0 and rejected(d, "total") == 0

        # Another address is unaffected: health, login, a console.
        status, _ = http_from(d, "127.0.0.3", "GET", "/healthz")
        assert status == 200
        status, body = http_from(d, "127.0.0.3", "POST", "/api/v1/auth/login",
                                 body=json.dumps({"username": ROLE_USERS["operator"],
                                                  "password": d.passwords[ROLE_USERS["operator"]]}),
                                 headers={"Content-Type": "application/json"})
        assert status == 200, body
        token = json.loads(body)["token"]
        ws = websocket.create_connection(f"ws://127.0.0.1:{d.port}/api/v1/ws", timeout=10,
                                         header=["Authorization: Bearer " + token],
                                         socket=connect_from(d, "127.0.0.3"))
        try:
            ws.settimeout(10)
            hello = json.loads(ws.recv())
            assert hello["type"] == "hello" and hello["role"] == "operator"
        finally:
            ws.close()
        assert rejected(d, "unauthenticated") == IDLE - UNAUTHENTICATED

        # The refused ones got a 503 and were closed; the admitted ones, which
        # never send a byte, are closed after first_byte_timeout_s.
        answers = {s: b"" for s in idle}
        sel = selectors.DefaultSelector()
        for s in idle:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        eof = set()
        deadline = time.monotonic() + FIRST_BYTE_S + 30
        while len(eof) < IDLE:
            assert time.monotonic() < deadline, f"only {len(eof)} of {IDLE} closed"
            for key, _ in sel.select(timeout=1):
                s = key.fileobj
                try:
                    chunk = s.recv(4096)
                except ConnectionResetError:
                    chunk = b""
                if chunk:
                    answers[s] += chunk
                else:
                    eof.add(s)
                    sel.unregister(s)
        sel.close()
        refused = [a for a in answers.values() if a]
        silent = [a for a in answers.values() if not a]
        assert len(refused) == IDLE - UNAUTHENTICATED
        assert len(silent) == UNAUTHENTICATED
        assert all(a.startswith(b"HTTP/1.1 503") and b"too many connections" in a
                   for a in refused)
    finally:
        for s in idle:
            s.close()
    # With its connections gone (the server notices each close), the address
    # is served again.
    wait_for(lambda: http_from(d, "127.0.0.2", "GET", "/healthz")[0] == 200,
             "127.0.0.2 to be served again")
    assert "unauthenticated connection limit per address (6) reached by 127.0.0.2" in d.stderr()


def test_authenticated_connections_capped_per_address(make_daemon):
    d = make_daemon(server={"max_connections_per_address": PER_ADDRESS,
                            "max_unauthenticated_per_address": UNAUTHENTICATED,
                            "idle_timeout_s": 60})
    auth = d.bearer(ROLE_USERS["operator"])
    held = []
    try:
        # More than the unauthenticated budget: each one authenticates (a
        # request with a valid token) before the next is opened.
        for _ in range(PER_ADDRESS):
            c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10,
                                           source_address=("127.0.0.4", 0))
            c.request("GET", "/api/v1/auth/me", headers=auth)
            r = c.getresponse()
            assert r.status == 200
            r.read()
            held.append(c)
        s = connect_from(d, "127.0.0.4")
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
        s.close()
        assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
        assert rejected(d, "per_address") == 1
        assert rejected(d, "unauthenticated") == 0
        # Each held connection still works (keep-alive).
        for c in held:
            c.request("GET", "/api/v1/auth/me", headers=auth)
            r = c.getresponse()
            assert r.status == 200
            r.read()
    finally:
        for c in held:
            c.close()
    wait_for(lambda: http_from(d, "127.0.0.4", "GET", "/healthz")[0] == 200,
             "127.0.0.4 to be served again")
    assert "per-address connection limit (12) reached by 127.0.0.4" in d.stderr()


def test_silent_connection_closed_after_first_byte_timeout(make_daemon):
    d = make_daemon(users=False, server={"first_byte_timeout_s": 1, "idle_timeout_s": 60,
                                         "read_timeout_s": 60})
    # A connection that spoke first is kept under the idle timeout.
    talker = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    talker.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert talker.recv(65536).startswith(b"HTTP/1.1 200")
    silent = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    t0 = time.monotonic()
    assert silent.recv(1024) == b""  # closed by the server, well before idle_timeout_s
    print(f"silent connection closed after {time.monotonic() - t0:.2f}s")
    silent.close()
    # The silent one, opened later, was closed; the talker, idle longer, is not.
    talker.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert talker.recv(65536).startswith(b"HTTP/1.1 200")
    talker.close()


def timed_out(d, reason):
    text = requests.get(d.url("/metrics"), timeout=10).text
    m = re.search(rf'^zaulek_http_connections_timed_out_total\{{reason="{reason}"\}} (\d+)$',
                  text, re.M)
    assert m, f"no timed-out count for {reason} in /metrics"
    return int(m.group(1))


def test_first_byte_timeouts_counted_in_metrics(make_daemon):
    d = make_daemon(users=False, server={"first_byte_timeout_s": 1, "idle_timeout_s": 60})
    assert timed_out(d, "first_byte") == 0
    silent = [connect_from(d, "127.0.0.6", timeout=30) for _ in range(3)]
    for s in silent:
        assert s.recv(1024) == b""  # closed by the server
        s.close()
    wait_for(lambda: timed_out(d, "first_byte") == 3, "three first-byte timeouts counted")
    assert timed_out(d, "idle") == 0 and timed_out(d, "read") == 0


PROXY = "127.0.0.5"


def proxied_ws(d, token, client):
    """A console WebSocket opened through the 'proxy' address for `client`."""
    return websocket.create_connection(
        f"ws://127.0.0.1:{d.port}/api/v1/ws", timeout=10,
        header=["Authorization: Bearer " + token, "X-Forwarded-For: " + client],
        socket=connect_from(d, PROXY))


def test_trusted_proxy_not_starved_by_the_per_address_cap(make_daemon):
    """Behind a trusted proxy every client shares the proxy's address: the
    proxy's connections count against the global cap only, each client's
    requests and WebSockets against that client's own budget."""
    d = make_daemon(server={"trusted_proxies": [PROXY],
                            "max_connections_per_address": 4,
                            "max_unauthenticated_per_address": 2,
                            "idle_timeout_s": 60})
    held = []
    consoles = []
    try:
        # Many more connections than one address may hold, each serving
        # another client (a proxy's pool): none refused.
        for i in range(12):
            c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10,
                                           source_address=(PROXY, 0))
            c.request("GET", "/healthz", headers={"X-Forwarded-For": f"127.1.0.{i + 1}"})
            r = c.getresponse()
            assert r.status == 200
            r.read()
            held.append(c)
        # Idle pooled connections count against no client: one client's
        # requests on all of them pass.
        for c in held:
            c.request("GET", "/healthz", headers={"X-Forwarded-For": "127.1.0.50"})
            r = c.getresponse()
            assert r.status == 200
            r.read()
        assert rejected(d, "per_address") == 0 and rejected(d, "unauthenticated") == 0

        # One client's consoles through the proxy are capped at its own budget.
        token = d.login(ROLE_USERS["operator"])["token"]
        for _ in range(4):
            ws = proxied_ws(d, token, "127.1.0.9")
            assert json.loads(ws.recv())["type"] == "hello"
            consoles.append(ws)
        try:
            proxied_ws(d, token, "127.1.0.9")
            assert False, "a fifth console of one client was accepted"
        except websocket.WebSocketBadStatusException as e:
            assert e.status_code == 503
        assert rejected(d, "per_address") == 1
        # Another client behind the same proxy is not affected.
        ws = proxied_ws(d, token, "127.1.0.10")
        assert json.loads(ws.recv())["type"] == "hello"
        consoles.append(ws)
        # A client's closed console frees its place.
        consoles.pop(0).close()

        def fifth_again():
            try:
                ws = proxied_ws(d, token, "127.1.0.9")
            except websocket.WebSocketBadStatusException:
                return False
            consoles.append(ws)
            return True
        wait_for(fifth_again, "127.1.0.9 to get a console again")
    finally:
        for ws in consoles:
            ws.close()
        for c in held:
            c.close()
