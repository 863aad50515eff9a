"""A console that stops reading is closed with 1008 once its bounded queue
overflows, and after reconnecting resumes exactly what it missed; a console
that keeps reading gets every message in order meanwhile.
Producer: an administrator's PATCH of an operator's cameras (no change), each
an `audit` message (user.cameras) to administrators. Not logins: each costs an
Argon2id hash at the configured floor (~45 ms), too slow to fill a queue."""
import json
import socket
import threading
import time

import requests
import websocket

from zaulekd_fixture import ROLE_USERS, wait_until

MAX_CHANGES = 6000    # bound on the load loop
MAX_SECONDS = 60      # and on its time


def test_slow_console_closed_fast_console_unaffected(daemon):
    adam = ROLE_USERS["administrator"]
    auth = ["Authorization: Bearer " + daemon.login(adam)["token"]]
    url = f"ws://127.0.0.1:{daemon.port}/api/v1/ws"
    # The slow console: small receive window, never reads until the end.
    slow = websocket.create_connection(url, timeout=10, header=auth,
                                       sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    fast = websocket.create_connection(url, timeout=10, header=auth)
    first = json.loads(fast.recv())
    assert first["type"] == "hello", first
    got = []
    stop = threading.Event()

    def read_fast():  # a console that keeps up: blocks on recv in its own thread
        fast.settimeout(0.5)
        while not stop.is_set():
            try:
                got.append(json.loads(fast.recv()))
            except websocket.WebSocketTimeoutException:
                continue

    reader = threading.Thread(target=read_fast, daemon=True)
    reader.start()

    session = requests.Session()
    session.headers["Authorization"] = auth[0].split(": ", 1)[1]
    users = session.get(daemon.url("/api/v1/users"), timeout=10).json()["users"]
    olga = next(u["id"] for u in users if u["name"] == ROLE_USERS["operator"])
    t0 = time.monotonic()
    changes = 0
    while changes < MAX_CHANGES and time.monotonic() - t0 < MAX_SECONDS:
        r = session.patch(daemon.url(f"/api/v1/users/{olga}"), json={"cameras": None}, timeout=10)
        assert r.status_code == 200, r.text
        changes += 1
        if changes % 50 == 0 and daemon.metric("zaulek_ws_overflow_closes_total") >= 1:
            break
    assert daemon.metric("zaulek_ws_overflow_closes_total") == 1, f"no overflow after {changes} changes"
    print(f"overflow after {changes} changes in {time.monotonic() - t0:.1f}s")

    # The slow one now reads what was buffered, then the close frame 1008.
    slow.settimeout(10)
    close_code = None
    slow_seqs = []
    for _ in range(100000):
        op, data = slow.recv_data(control_frame=True)
        if op == websocket.ABNF.OPCODE_CLOSE:
            close_code = int.from_bytes(data[:2], "big")
            reason = data[2:].decode()
            break
        m = json.loads(data)
        if "seq" in m:
            slow_seqs.append(m["seq"])
    assert close_code == 1008
    assert "too slow" in reason
    assert slow_seqs, "the slow console got nothing before it was closed"
    assert slow_seqs == list(range(slow_seqs[0], slow_seqs[0] + len(slow_seqs)))
    slow.close()

    # It reconnects and resumes from the last seq it got: exactly what it
    # missed (everything up to the new hello's last_seq), no gap, no
    # duplicate, no resume_gap (the ring holds more than the queue bound).
    last = slow_seqs[-1]
    back = websocket.create_connection(url, timeout=10, header=auth)
    hello = json.loads(back.recv())
    assert hello["type"] == "hello" and hello["last_seq"] > last
    back.send(json.dumps({"type": "resume", "after": last}))
    replayed, done = [], None
    back.settimeout(10)
    for _ in range(MAX_CHANGES * 2 + 10):
        m = json.loads(back.recv())
        assert m["type"] != "resume_gap", m
        if m["type"] == "resumed":
            done = m
            break
        if m["seq"] <= hello["last_seq"]:
            replayed.append(m["seq"])
    assert done is not None and done["after"] == last and done["upto"] == hello["last_seq"], done
    assert replayed == list(range(last + 1, hello["last_seq"] + 1))
    assert done["count"] == len(replayed)
    print(f"closed after seq {last}; resumed {len(replayed)} messages up to {hello['last_seq']}")
    back.close()

    # The fast one got every audit message, seq without gaps.
    try:
        wait_until(f"{changes} user.cameras messages on the fast console", lambda: len(
            [m for m in list(got) if m.get("action") == "user.cameras"]) >= changes, 10)
    finally:
        stop.set()
        reader.join(timeout=5)
    seqs = [m["seq"] for m in got if "seq" in m]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert len([m for m in got if m.get("action") == "user.cameras"]) == changes
    assert "fell behind" in daemon.stderr()
    fast.close()
