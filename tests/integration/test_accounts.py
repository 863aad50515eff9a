"""Account lifecycle against the real zaulekd and real WebSocket consoles:
logout, revocation, a password change or reset and disabling a user close
exactly the WebSockets of the sessions that ended, with 1008 and a reason per
cause (docs/events.md); session expiry closes them when the token expires;
sessions are listed by id, never by token; no error tells one user about
another; everything is audited."""
import hashlib
import json
import time

import requests
import websocket

from zaulekd_fixture import ROLE_USERS, wait_until

OLGA = ROLE_USERS["operator"]
ADAM = ROLE_USERS["administrator"]
IWONA = ROLE_USERS["investigator"]


def h(token):
    return {"Authorization": "Bearer " + token}


class Ws:
    """A console's WebSocket opened with one token."""

    def __init__(self, d, token):
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{d.port}/api/v1/ws", timeout=5,
                                              header=["Authorization: Bearer " + token])
        self.hello = json.loads(self.ws.recv())
        assert self.hello["type"] == "hello", self.hello

    def alive(self):
        """A ping is answered: the socket is open and served."""
        self.ws.send(json.dumps({"type": "ping"}))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = json.loads(self.ws.recv())
            if m.get("type") == "pong":
                return True
        return False

    def closed(self, limit_s=20):
        """Waits for the server's close frame: (code, reason). Data frames
        that arrive first are kept in self.after."""
        self.after = []
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            self.ws.settimeout(2)
            try:
                op, data = self.ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                continue
            if op == websocket.ABNF.OPCODE_CLOSE:
                return int.from_bytes(data[:2], "big"), data[2:].decode()
            if op == websocket.ABNF.OPCODE_TEXT:
                self.after.append(data)
        raise AssertionError(f"not closed within {limit_s} s")

    def delivers_nothing_more(self):
        """After the close: the connection ends, no frame follows."""
        self.ws.settimeout(5)
        try:
            op, data = self.ws.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            return True
        return op == websocket.ABNF.OPCODE_CLOSE or (op is None and not data)


def refused_upgrade(d, token):
    try:
        Ws(d, token)
    except websocket.WebSocketBadStatusException as e:
        return e.status_code
    return None


def audit(d, token, action):
    r = requests.get(d.url("/api/v1/audit?limit=1000"), headers=h(token), timeout=10)
    assert r.status_code == 200, r.text
    return [e for e in r.json()["entries"] if e["action"] == action]


def user_id(d, admin_token, name):
    users = requests.get(d.url("/api/v1/users"), headers=h(admin_token), timeout=10).json()
    return next(u["id"] for u in users["users"] if u["name"] == name)


def test_logout_closes_only_that_tokens_websockets(daemon):
    d = daemon
    a, b = d.login(OLGA)["token"], d.login(OLGA)["token"]
    a1, a2, b1 = Ws(d, a), Ws(d, a), Ws(d, b)
    r = requests.post(d.url("/api/v1/auth/logout"), headers=h(a), timeout=10)
    assert r.status_code == 200, r.text
    for ws in (a1, a2):
        assert ws.closed() == (1008, "logged out")
        assert ws.delivers_nothing_more()
    # The other login's console is untouched and served.
    assert b1.alive()
    # The token is dead for REST and for a new WebSocket alike.
    assert requests.get(d.url("/api/v1/auth/me"), headers=h(a), timeout=10).status_code == 401
    assert refused_upgrade(d, a) == 401
    b1.ws.close()
    adam = d.login(ADAM)["token"]
    rows = audit(d, adam, "auth.logout")
    assert [(e["actor"], e["target"]) for e in rows] == [("olga", "user:olga")]
    assert int(rows[0]["detail"]["session"]) >= 1


def test_own_password_change_ends_the_other_sessions(daemon):
    d = daemon
    old = d.passwords[OLGA]
    mine, other = d.login(OLGA)["token"], d.login(OLGA)["token"]
    ws_mine, ws_other = Ws(d, mine), Ws(d, other)
    url = d.url("/api/v1/auth/password")
    # Bad input is named; a bad new password costs no guess of the old one.
    for body, status, words in (
            ({"current_password": old}, 400, "'new_password' is required"),
            ({"current_password": old, "new_password": "short"}, 400, "at least 8"),
            ({"current_password": old, "new_password": "new-pass-123", "x": 1}, 400,
             "unknown field 'x'"),
            ({"current_password": "wrong-password", "new_password": "new-pass-123"}, 403,
             "the current password is wrong")):
        r = requests.post(url, headers=h(mine), json=body, timeout=10)
        assert r.status_code == status and words in r.json()["error"]["message"], (body, r.text)
    assert ws_other.alive()  # nothing changed yet
    r = requests.post(url, headers=h(mine), json={"current_password": old,
                                                  "new_password": "new-pass-123"}, timeout=10)
    assert r.status_code == 200 and r.json()["sessions_ended"] == 1, r.text
    assert ws_other.closed() == (1008, "password changed")
    assert ws_other.delivers_nothing_more()
    assert requests.get(d.url("/api/v1/auth/me"), headers=h(other), timeout=10).status_code == 401
    # The session that changed it goes on, its console too.
    assert requests.get(d.url("/api/v1/auth/me"), headers=h(mine), timeout=10).status_code == 200
    assert ws_mine.alive()
    r = requests.post(d.url("/api/v1/auth/login"), json={"username": OLGA, "password": old},
                      timeout=10)
    assert r.status_code == 401
    d.passwords[OLGA] = "new-pass-123"
    d.login(OLGA)
    adam = d.login(ADAM)["token"]
    rows = audit(d, adam, "user.password")
    assert [(e["actor"], e["target"], e["detail"]) for e in rows] == [
        ("olga", "user:olga", {"sessions_ended": 1})]
    assert len(audit(d, adam, "auth.password_check_failed")) == 1
    # Wrong current passwords are throttled like logins (5 per user and
    # address here; the successful login above started the count afresh).
    for _ in range(5):
        r = requests.post(url, headers=h(mine), json={"current_password": "wrong-password",
                                                      "new_password": "new-pass-456"}, timeout=10)
        assert r.status_code == 403, r.text
    r = requests.post(url, headers=h(mine), json={"current_password": "new-pass-123",
                                                  "new_password": "new-pass-456"}, timeout=10)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1, r.text
    ws_mine.ws.close()


def test_admin_reset_and_disable(daemon):
    d = daemon
    adam = d.login(ADAM)["token"]
    olga_id, iwona_id, adam_id = (user_id(d, adam, n) for n in (OLGA, IWONA, ADAM))
    olga = d.login(OLGA)["token"]
    olga_ws = Ws(d, olga)
    # Reset: every session of olga ends, her console closes.
    r = requests.post(d.url(f"/api/v1/users/{olga_id}/password"), headers=h(adam),
                      json={"password": "reset-pass-1"}, timeout=10)
    assert r.status_code == 200 and r.json()["sessions_ended"] == 1, r.text
    assert olga_ws.closed() == (1008, "password changed")
    assert requests.get(d.url("/api/v1/auth/me"), headers=h(olga), timeout=10).status_code == 401
    d.passwords[OLGA] = "reset-pass-1"
    olga = d.login(OLGA)["token"]
    for uid, body, status in ((olga_id, {"password": "short"}, 400),
                              ("999999", {"password": "reset-pass-2"}, 404),
                              ("x", {"password": "reset-pass-2"}, 404)):
        r = requests.post(d.url(f"/api/v1/users/{uid}/password"), headers=h(adam), json=body,
                          timeout=10)
        assert r.status_code == status, (uid, r.text)
    r = requests.post(d.url(f"/api/v1/users/{iwona_id}/password"), headers=h(olga),
                      json={"password": "reset-pass-2"}, timeout=10)
    assert r.status_code == 403  # operators reset nobody's

    # Disable: the token is refused at once, the console closed.
    iwona = d.login(IWONA)["token"]
    iwona_ws = Ws(d, iwona)
    url = d.url(f"/api/v1/users/{iwona_id}")
    r = requests.patch(url, headers=h(adam), json={"disabled": True}, timeout=10)
    assert r.status_code == 200 and r.json()["disabled"] is True, r.text
    assert iwona_ws.closed() == (1008, "account disabled")
    assert iwona_ws.delivers_nothing_more()
    assert requests.get(d.url("/api/v1/auth/me"), headers=h(iwona), timeout=10).status_code == 401
    assert refused_upgrade(d, iwona) == 401
    # Her login fails exactly as a wrong password or an unknown user does.
    answers = []
    for name, pw in ((IWONA, d.passwords[IWONA]), (IWONA, "wrong-password"),
                     ("nobody-here", "wrong-password")):
        r = requests.post(d.url("/api/v1/auth/login"), json={"username": name, "password": pw},
                          timeout=10)
        answers.append((r.status_code, r.json()))
    assert answers[0] == answers[1] == answers[2], answers
    assert answers[0][0] == 401
    # Bad requests and the two refusals.
    for target, body, status, words in (
            (url, {"disabled": "yes"}, 400, "'disabled' must be true or false"),
            (d.url(f"/api/v1/users/{adam_id}"), {"disabled": True}, 409,
             "you cannot disable your own account"),
            (d.url("/api/v1/users/999999"), {"disabled": True}, 404, "no user")):
        r = requests.patch(target, headers=h(adam), json=body, timeout=10)
        assert r.status_code == status and words in r.json()["error"]["message"], (body, r.text)
    r = requests.patch(url, headers=h(olga), json={"disabled": False}, timeout=10)
    assert r.status_code == 403
    # Enabled again: she logs in; the old token stays dead.
    r = requests.patch(url, headers=h(adam), json={"disabled": False}, timeout=10)
    assert r.status_code == 200 and r.json()["disabled"] is False, r.text
    d.login(IWONA)
    assert requests.get(d.url("/api/v1/auth/me"), headers=h(iwona), timeout=10).status_code == 401
    actions = [(e["actor"], e["action"], e["target"]) for e in
               audit(d, adam, "user.disable") + audit(d, adam, "user.enable") +
               audit(d, adam, "user.password_reset")]
    assert sorted(actions) == sorted([("adam", "user.disable", "user:iwona"),
                                      ("adam", "user.enable", "user:iwona"),
                                      ("adam", "user.password_reset", "user:olga")])


def test_sessions_listed_by_id_and_revoked(daemon):
    d = daemon
    adam = d.login(ADAM)["token"]
    olga_id = user_id(d, adam, OLGA)
    first, second = d.login(OLGA)["token"], d.login(OLGA)["token"]
    r = requests.get(d.url("/api/v1/auth/sessions"), headers=h(first), timeout=10)
    assert r.status_code == 200, r.text
    sessions = r.json()["sessions"]
    assert len(sessions) == 2
    assert [s["current"] for s in sessions] == [True, False]
    assert all(s["user"] == OLGA and s["remote"] == "127.0.0.1" for s in sessions)
    assert set(sessions[0]) == {"id", "user", "created", "expires", "remote", "current"}
    # Never a token or its hash.
    for tok in (first, second):
        assert tok not in r.text and hashlib.sha256(tok.encode()).hexdigest() not in r.text
    r = requests.get(d.url(f"/api/v1/users/{olga_id}/sessions"), headers=h(adam), timeout=10)
    assert r.status_code == 200 and len(r.json()["sessions"]) == 2, r.text
    assert [s["current"] for s in r.json()["sessions"]] == [False, False]
    assert requests.get(d.url(f"/api/v1/users/{olga_id}/sessions"), headers=h(first),
                        timeout=10).status_code == 403
    adam_session = next(s["id"] for s in requests.get(
        d.url("/api/v1/auth/sessions"), headers=h(adam), timeout=10).json()["sessions"]
        if s["current"])
    # Someone else's session is answered exactly as one that does not exist.
    r_other = requests.delete(d.url(f"/api/v1/sessions/{adam_session}"), headers=h(first),
                              timeout=10)
    r_none = requests.delete(d.url("/api/v1/sessions/999999"), headers=h(first), timeout=10)
    assert r_other.status_code == r_none.status_code == 404
    assert (r_other.json()["error"]["message"].replace(adam_session, "N") ==
            r_none.json()["error"]["message"].replace("999999", "N") == "no session N")
    assert requests.get(d.url("/api/v1/auth/me"), headers=h(adam), timeout=10).status_code == 200
    # Her own second session: revoked, its console closed.
    ws_second = Ws(d, second)
    second_id = sessions[1]["id"]
    r = requests.delete(d.url(f"/api/v1/sessions/{second_id}"), headers=h(first), timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "revoked", "id": second_id}, r.text
    assert ws_second.closed() == (1008, "session revoked")
    assert requests.get(d.url("/api/v1/auth/me"), headers=h(second), timeout=10).status_code == 401
    # An administrator revokes anyone's.
    ws_first = Ws(d, first)
    r = requests.delete(d.url(f"/api/v1/sessions/{sessions[0]['id']}"), headers=h(adam),
                        timeout=10)
    assert r.status_code == 200, r.text
    assert ws_first.closed() == (1008, "session revoked")
    assert requests.get(d.url("/api/v1/auth/me"), headers=h(first), timeout=10).status_code == 401
    rows = audit(d, adam, "session.revoke")
    assert [(e["actor"], e["target"], e["detail"]["session"]) for e in rows] == [
        ("olga", "user:olga", second_id), ("adam", "user:olga", sessions[0]["id"])]


def test_session_expiry_closes_its_websocket(make_daemon):
    # The shortest session the configuration allows: one minute.
    d = make_daemon(auth={"session_ttl_minutes": 1})
    login = d.login(OLGA)
    ws = Ws(d, login["token"])
    code, reason = ws.closed(limit_s=120)
    assert (code, reason) == (1008, "session expired")
    assert ws.delivers_nothing_more()
    assert requests.get(d.url("/api/v1/auth/me"), headers=h(login["token"]),
                        timeout=10).status_code == 401
    wait_until("the expiry in the log", lambda: "session expired; closing" in d.stderr(), 10)


def test_role_change_counts_at_once_and_closes_the_consoles(daemon):
    d = daemon
    adam = d.login(ADAM)["token"]
    olga_id, adam_id = user_id(d, adam, OLGA), user_id(d, adam, ADAM)
    olga = d.login(OLGA)["token"]
    olga_ws = Ws(d, olga)
    url = d.url(f"/api/v1/users/{olga_id}")
    r = requests.patch(url, headers=h(adam), json={"role": "investigator"}, timeout=10)
    assert r.status_code == 200 and r.json()["role"] == "investigator", r.text
    # Her console was subscribed with the operator's audience: it closes.
    assert olga_ws.closed() == (1008, "role changed; reconnect")
    # The same token now carries the new role, from its next request.
    me = requests.get(d.url("/api/v1/auth/me"), headers=h(olga), timeout=10)
    assert me.status_code == 200 and me.json()["role"] == "investigator", me.text
    assert Ws(d, olga).hello["role"] == "investigator"
    for target, body, status, words in (
            (url, {"role": "boss"}, 400, "'role' must be operator, investigator or administrator"),
            (url, {"role": 3}, 400, "'role' must be"),
            (d.url(f"/api/v1/users/{adam_id}"), {"role": "operator"}, 409,
             "you cannot change your own role")):
        r = requests.patch(target, headers=h(adam), json=body, timeout=10)
        assert r.status_code == status and words in r.json()["error"]["message"], (body, r.text)
    r = requests.patch(url, headers=h(olga), json={"role": "administrator"}, timeout=10)
    assert r.status_code == 403
    # Made administrator, she may demote the other one (she stays the last).
    r = requests.patch(url, headers=h(adam), json={"role": "administrator"}, timeout=10)
    assert r.status_code == 200 and r.json()["cameras"] is None, r.text
    r = requests.patch(d.url(f"/api/v1/users/{adam_id}"), headers=h(olga),
                       json={"role": "operator"}, timeout=10)
    assert r.status_code == 200 and r.json()["role"] == "operator", r.text
    assert requests.get(d.url("/api/v1/users"), headers=h(adam), timeout=10).status_code == 403
    rows = [(e["actor"], e["target"], e["detail"]["from"], e["detail"]["to"])
            for e in audit(d, olga, "user.role")]
    assert sorted(rows) == sorted([("adam", "user:olga", "operator", "investigator"),
                                   ("adam", "user:olga", "investigator", "administrator"),
                                   ("olga", "user:adam", "administrator", "operator")])
