"""A console that sends messages and never reads the replies (pings, bad
messages, resumes) is closed with 1008 "sends without reading" once its
unsent replies pass their bound, and counted in /metrics; the daemon's
memory does not grow with what it sent, and another console is served
meanwhile. Before, 47 MB of pongs piled up for such a console and it was
never closed (issue #18)."""
import json
import socket
import time

import websocket

from zaulekd_fixture import ROLE_USERS, wait_until

MAX_MESSAGES = 200_000   # bound on the load loop
MAX_SECONDS = 60         # and on its time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_console_that_never_reads_is_closed_and_counted(daemon):
    olga = ROLE_USERS["operator"]
    auth = ["Authorization: Bearer " + daemon.login(olga)["token"]]
    url = f"ws://127.0.0.1:{daemon.port}/api/v1/ws"
    assert daemon.metric("zaulek_ws_unread_closes_total") == 0
    rss_before = rss_kib(daemon.proc.pid)

    # Small windows both ways, so that unread replies back up at the server.
    rude = websocket.create_connection(url, timeout=10, header=auth,
                                       sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    # Every kind of message the server answers: a ping, garbage, resumes.
    kinds = [json.dumps({"type": "ping", "pad": "x" * 200}), "not json",
             json.dumps({"type": "resume", "after": 0})]
    sent = 0
    t0 = time.monotonic()
    closed_by_server = False
    while sent < MAX_MESSAGES and time.monotonic() - t0 < MAX_SECONDS:
        try:
            rude.send(kinds[sent % len(kinds)])
        except (BrokenPipeError, ConnectionResetError, websocket.WebSocketException, OSError):
            closed_by_server = True
            break
        sent += 1
        if sent % 500 == 0 and daemon.metric("zaulek_ws_unread_closes_total") >= 1:
            break
    wait_until("the rude console to be closed and counted",
               lambda: daemon.metric("zaulek_ws_unread_closes_total") == 1, 10)
    print(f"closed after {sent} messages in {time.monotonic() - t0:.2f}s "
          f"(send failed: {closed_by_server})")
    # Far fewer than the loop's bound: the server did not keep what it could not send.
    assert sent < MAX_MESSAGES
    # Not counted as a slow console: it was not behind on live messages.
    assert daemon.metric("zaulek_ws_overflow_closes_total") == 0

    # What was buffered, then the close frame: 1008 with its reason.
    rude.settimeout(10)
    close = None
    for _ in range(100_000):
        try:
            op, data = rude.recv_data(control_frame=True)
        except (websocket.WebSocketException, OSError):
            break
        if op == websocket.ABNF.OPCODE_CLOSE:
            close = data
            break
    if close is not None:  # the server may have dropped the TCP connection after its grace
        code = int.from_bytes(close[:2], "big")
        assert code == 1008, close
        assert close[2:].decode() == "sends without reading"
    rude.close()

    # Memory: bounded by the reply bound, not by the messages sent.
    rss_after = rss_kib(daemon.proc.pid)
    print(f"rss {rss_before} KiB -> {rss_after} KiB after {sent} messages")
    assert rss_after - rss_before < 16 * 1024, (rss_before, rss_after)

    # A console that reads is served as before.
    polite = websocket.create_connection(url, timeout=10, header=auth)
    assert json.loads(polite.recv())["type"] == "hello"
    for i in range(200):
        polite.send(json.dumps({"type": "ping"}))
        assert json.loads(polite.recv())["type"] == "pong"
    polite.close()
    assert daemon.metric("zaulek_ws_unread_closes_total") == 1


def test_resumes_are_answered_one_replay_at_a_time(daemon):
    olga = ROLE_USERS["operator"]
    auth = ["Authorization: Bearer " + daemon.login(olga)["token"]]
    ws = websocket.create_connection(f"ws://127.0.0.1:{daemon.port}/api/v1/ws", timeout=10,
                                     header=auth)
    assert json.loads(ws.recv())["type"] == "hello"
    # Resumes back to back: each is answered, either replayed ("resumed") or,
    # while a replay is under way, refused; never two replays queued at once.
    n = 20
    for _ in range(n):
        ws.send(json.dumps({"type": "resume", "after": 0}))
    answers = []
    while len(answers) < n:
        m = json.loads(ws.recv())
        if m["type"] in ("resumed", "error"):
            answers.append(m)
    refused = [m for m in answers if m["type"] == "error"]
    assert all(m["message"] == "a resume is already in progress" for m in refused), refused
    assert len(answers) - len(refused) >= 1
    print(f"{len(refused)} of {n} back-to-back resumes refused while one replayed")
    # And the session still works.
    ws.send(json.dumps({"type": "ping"}))
    assert json.loads(ws.recv())["type"] == "pong"
    ws.close()
