"""WebSocket /api/v1/ws against the real daemon: authentication (Bearer,
cookie + Origin), hello, live `audit` messages produced by creating users
through the API, seq growing by one, resume after a reconnect, per-role
visibility, close 1001 on shutdown."""
import json
import time

import pytest
import requests
import websocket

from zaulekd_fixture import ROLE_USERS


def ws_url(d):
    return f"ws://127.0.0.1:{d.port}/api/v1/ws"


def recv_json(ws, timeout=5):
    ws.settimeout(timeout)
    return json.loads(ws.recv())


def recv_until(ws, pred, limit=200, timeout=5):
    deadline = time.monotonic() + timeout
    seen = []
    while len(seen) < limit and time.monotonic() < deadline:
        m = recv_json(ws, timeout=max(0.1, deadline - time.monotonic()))
        seen.append(m)
        if pred(m):
            return m, seen
    raise AssertionError(f"message not received; got {seen}")


def create_user(d, headers, name):
    r = requests.post(d.url("/api/v1/users"), headers=headers,
                      json={"name": name, "password": "password-" + name, "role": "operator"},
                      timeout=5)
    assert r.status_code == 201, r.text


def test_ws_requires_auth(daemon):
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(ws_url(daemon), timeout=5)
    assert e.value.status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(ws_url(daemon), timeout=5,
                                    header=["Authorization: Bearer " + "1" * 64])
    assert e.value.status_code == 401
    # Without an upgrade the route says so.
    h = daemon.bearer(ROLE_USERS["operator"])
    r = requests.get(daemon.url("/api/v1/ws"), headers=h, timeout=5)
    assert r.status_code == 426


def test_cookie_ws_needs_same_origin(daemon):
    token = daemon.login(ROLE_USERS["operator"])["token"]
    cookie = "zaulek_session=" + token
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(ws_url(daemon), timeout=5, cookie=cookie,
                                    origin="http://evil.example")
    assert e.value.status_code == 403
    ws = websocket.create_connection(ws_url(daemon), timeout=5, cookie=cookie,
                                     origin=f"http://127.0.0.1:{daemon.port}")
    hello = recv_json(ws)
    assert hello["type"] == "hello" and hello["role"] == "operator"
    ws.close()


def test_live_messages_seq_and_resume(daemon):
    adam_h = daemon.bearer(ROLE_USERS["administrator"])
    ws = websocket.create_connection(ws_url(daemon), timeout=5, header=[
        "Authorization: " + adam_h["Authorization"]])
    hello = recv_json(ws)
    assert hello["type"] == "hello" and hello["role"] == "administrator"
    start = hello["last_seq"]
    # An operator sees no audit messages at all.
    op = websocket.create_connection(ws_url(daemon), timeout=5, header=[
        "Authorization: " + daemon.bearer(ROLE_USERS["operator"])["Authorization"]])
    assert recv_json(op)["type"] == "hello"

    create_user(daemon, adam_h, "ws-one")
    m, _ = recv_until(ws, lambda m: m.get("action") == "user.create")
    assert m["type"] == "audit" and m["target"] == "user:ws-one" and m["actor"] == "adam"
    assert "password" not in json.dumps(m)
    last = m["seq"]
    assert last > start
    ws.close()

    # While disconnected: three more users.
    for name in ("ws-two", "ws-three", "ws-four"):
        create_user(daemon, adam_h, name)

    ws = websocket.create_connection(ws_url(daemon), timeout=5, header=[
        "Authorization: " + adam_h["Authorization"]])
    hello = recv_json(ws)
    assert hello["last_seq"] >= last + 3
    ws.send(json.dumps({"type": "resume", "after": last}))
    done, seen = recv_until(ws, lambda m: m["type"] == "resumed")
    replayed = [m for m in seen if "seq" in m]
    seqs = [m["seq"] for m in replayed]
    assert seqs == list(range(last + 1, hello["last_seq"] + 1))  # no gap, no duplicate
    assert [m["target"] for m in replayed if m.get("action") == "user.create"] == [
        "user:ws-two", "user:ws-three", "user:ws-four"]
    assert done["count"] == len(replayed)

    # Bad client messages get an error message, the session stays.
    ws.send("not json")
    assert recv_json(ws) == {"type": "error", "message": "message is not a JSON object"}
    ws.send(json.dumps({"type": "resume", "after": -1}))
    assert recv_json(ws)["type"] == "error"
    ws.send(json.dumps({"type": "ping"}))
    assert recv_json(ws) == {"type": "pong"}

    op.settimeout(0.5)
    with pytest.raises(websocket.WebSocketTimeoutException):
        op.recv()  # nothing for the operator
    op.close()
    ws.close()


def test_shutdown_closes_ws_with_1001(daemon):
    ws = websocket.create_connection(ws_url(daemon), timeout=5, header=[
        "Authorization: " + daemon.bearer(ROLE_USERS["investigator"])["Authorization"]])
    assert recv_json(ws)["type"] == "hello"
    t0 = time.monotonic()
    daemon.proc.send_signal(15)
    ws.settimeout(5)
    op, data = ws.recv_data(control_frame=True)
    assert op == websocket.ABNF.OPCODE_CLOSE
    code = int.from_bytes(data[:2], "big")
    assert code == 1001
    code, _ = daemon.stop()
    assert code == 0
    assert time.monotonic() - t0 < 5


def test_shutdown_not_held_by_unresponsive_console(daemon):
    """A console that never answers the close handshake (never reads) does
    not keep the daemon from exiting 0 within 5 s."""
    ws = websocket.create_connection(ws_url(daemon), timeout=5, header=[
        "Authorization: " + daemon.bearer(ROLE_USERS["operator"])["Authorization"]])
    # A plain keep-alive HTTP client too.
    s = requests.Session()
    assert s.get(daemon.url("/healthz"), timeout=5).status_code == 200
    code, seconds = daemon.stop()
    print(f"stopped in {seconds:.2f}s with an unresponsive console")
    assert code == 0
    assert seconds < 5
    ws.sock.close()
    s.close()


def test_batch_frames_on_request_only(daemon):
    """A console that asked for batches (?batch=1) gets what piled up as one
    array frame; a resume of many messages is such a pile. Every message is in
    one frame or another, in seq order; without batch=1 no frame is an array."""
    adam_h = daemon.bearer(ROLE_USERS["administrator"])
    auth = ["Authorization: " + adam_h["Authorization"]]
    first = websocket.create_connection(ws_url(daemon), timeout=5, header=auth)
    start = recv_json(first)["last_seq"]
    first.close()
    names = [f"ws-batch-{i}" for i in range(40)]
    for name in names:
        create_user(daemon, adam_h, name)

    def resume_frames(url):
        ws = websocket.create_connection(url, timeout=5, header=auth)
        hello = recv_json(ws)
        assert hello["type"] == "hello"
        ws.send(json.dumps({"type": "resume", "after": start}))
        frames, messages = [], []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(m["type"] == "resumed" for m in messages):
            ws.settimeout(max(0.1, deadline - time.monotonic()))
            f = json.loads(ws.recv())
            frames.append(f)
            messages += f if isinstance(f, list) else [f]
        ws.close()
        replayed = [m for m in messages if "seq" in m]
        assert [m["seq"] for m in replayed] == list(range(start + 1, hello["last_seq"] + 1))
        assert [m["target"] for m in replayed if m.get("action") == "user.create"] == [
            "user:" + n for n in names]
        return frames

    plain = resume_frames(ws_url(daemon))
    assert not any(isinstance(f, list) for f in plain)
    batched = resume_frames(ws_url(daemon) + "?batch=1")
    arrays = [f for f in batched if isinstance(f, list)]
    assert arrays, "40 replayed messages queued at once but no array frame"
    assert len(batched) < len(plain)
    assert all(1 <= len(a) <= 64 and all(isinstance(m, dict) for m in a) for a in arrays)
    metrics = requests.get(daemon.url("/metrics"), headers=adam_h, timeout=5).text
    assert any(line.startswith("zaulek_ws_batch_frames_total ") and int(line.split()[1]) > 0
               for line in metrics.splitlines())


def test_cookie_ws_behind_a_tls_proxy(make_daemon):
    """A same-host proxy that terminates TLS (docs/deployment.md) passes the
    browser's scheme and host on; only from a trusted proxy do they count."""
    forwarded = ["X-Forwarded-Proto: https", "X-Forwarded-Host: cctv.straz.example",
                 "X-Forwarded-For: 192.0.2.20"]
    origin = "https://cctv.straz.example"

    def upgrade(d, headers):
        token = d.login(ROLE_USERS["operator"])["token"]
        try:
            ws = websocket.create_connection(ws_url(d), timeout=5, origin=origin, header=headers,
                                             cookie="zaulek_session=" + token)
        except websocket.WebSocketBadStatusException as e:
            return e.status_code
        hello = recv_json(ws)
        ws.close()
        return hello["type"]

    proxied = make_daemon(server={"trusted_proxies": ["127.0.0.1"]})
    assert upgrade(proxied, forwarded) == "hello"
    # Without the proxy's word, the browser's Origin is not this server's.
    assert upgrade(proxied, forwarded[2:]) == 403
    assert upgrade(proxied, ["X-Forwarded-Proto: https", "X-Forwarded-Host: evil.example"]) == 403
    # From a peer that is not a trusted proxy the headers are not believed.
    direct = make_daemon()
    assert upgrade(direct, forwarded) == 403
