"""`zaulekd audit verify` against the real daemon's catalogue: audited calls
over the API, then the chain checked offline; a row changed with sqlite3
names that row; a removed tail is intact on its own and shows against the
chain head that zaulekd wrote to its log (docs/administrators.md)."""
import hashlib
import re
import sqlite3

import requests

from zaulekd_fixture import ROLE_USERS, run_cli

GENESIS = "0" * 64


def verify(d, *extra):
    return run_cli(["--config", str(d.config_path), "audit", "verify", *extra])


def logged_heads(d):
    return re.findall(r"audit: chain head (\d+):([0-9a-f]{64})", d.stderr())


def netstring(value):
    data = str(value).encode()
    return str(len(data)).encode() + b":" + data + b","


def tamper(db, sql, *params):
    """As someone with write access to the file: the append-only triggers go first."""
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER IF EXISTS audit_no_update")
    con.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    con.execute(sql, params)
    con.commit()
    con.close()


def test_help_lists_audit_verify():
    r = run_cli(["--help"])
    assert r.returncode == 0
    assert "audit verify" in r.stdout and "--head ID:HASH" in r.stdout
    for args, fragment in ((["audit", "check"], "the audit command is: audit verify"),
                           (["audit", "verify", "--head", "12"], "--head takes ID:HASH"),
                           (["--head", "1:" + GENESIS], "--head belongs to audit verify")):
        r = run_cli(["--config", "x.toml", *args])
        assert r.returncode == 2, args
        assert fragment in r.stderr


def test_verify_counts_names_a_changed_row_and_the_logged_head_catches_truncation(make_daemon):
    d = make_daemon()  # three users made through the command line: audited
    adam = ROLE_USERS["administrator"]
    h = d.bearer(adam)
    r = requests.post(d.url("/api/v1/users"), headers=h, timeout=10,
                      json={"name": "nowy", "password": "password-123", "role": "operator"})
    assert r.status_code == 201, r.text
    r = requests.post(d.url("/api/v1/auth/login"), timeout=10,
                      json={"username": "nowy", "password": "wrong-password"})
    assert r.status_code == 401
    entries = requests.get(d.url("/api/v1/audit"), headers=h, params={"limit": 1000},
                           timeout=10).json()["entries"]
    actions = [e["action"] for e in entries]
    assert "user.create" in actions and "auth.login" in actions
    assert "auth.login_failed" in actions
    created = next(e for e in entries if e["action"] == "user.create" and e["actor"] == adam)
    assert d.stop()[0] == 0

    # The head at start (the three CLI entries) and at shutdown (the last entry).
    heads = logged_heads(d)
    assert len(heads) == 2, d.stderr()
    assert heads[0][0] == "3"
    last_id, last_hash = int(heads[-1][0]), heads[-1][1]

    db = d.dir / "storage" / "zaulek.db"
    con = sqlite3.connect(db)
    rows = con.execute("SELECT id, time_ns, actor, action, target, detail, remote, prev_hash, "
                       "hash FROM audit ORDER BY id").fetchall()
    con.close()
    assert len(rows) == last_id >= len(entries)
    assert rows[-1][8] == last_hash
    # GET /api/v1/audit shows each entry's hash as stored.
    by_id = {row[0]: row[8] for row in rows}
    assert [e["hash"] for e in entries] == [by_id[int(e["id"])] for e in entries]

    # The encoding as docs/administrators.md gives it, computed here independently.
    prev = GENESIS
    for row in rows:
        assert row[7] == prev
        canonical = b"".join(netstring(v) for v in ("zaulek-audit-v1", *row[:8]))
        assert row[8] == hashlib.sha256(canonical).hexdigest(), row[0]
        prev = row[8]

    r = verify(d)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == f"audit trail intact: {last_id} entries checked, head {last_id}:{last_hash}\n"
    assert verify(d, "--head", f"{last_id}:{last_hash}").returncode == 0

    # The last entry deleted: the shorter chain is intact in itself; the head
    # from the log is no longer in it.
    tamper(db, "DELETE FROM audit WHERE id = ?", last_id)
    r = verify(d)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"audit trail intact: {last_id - 1} entries checked, head {last_id - 1}:")
    r = verify(d, "--head", f"{last_id}:{last_hash}")
    assert r.returncode == 1
    assert r.stdout == (f"audit trail broken at entry {last_id}: entry {last_id} (the head given) "
                        f"is missing: the trail ends at entry {last_id - 1}, its tail was removed "
                        f"({last_id - 1} entries before it are intact)\n")

    # One row's detail changed: verify names it.
    bad = int(created["id"])
    tamper(db, "UPDATE audit SET detail = '{\"role\":\"administrator\"}' WHERE id = ?", bad)
    r = verify(d)
    assert r.returncode == 1
    assert r.stdout == (f"audit trail broken at entry {bad}: entry {bad} was changed: its content "
                        f"does not match its hash ({bad - 1} entries before it are intact)\n")
