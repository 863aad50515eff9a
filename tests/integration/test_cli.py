"""The command line: --help, --version, --check, user add (password on stdin),
usage errors."""
import re

from zaulekd_fixture import Zaulekd, run_cli


def test_help_and_version():
    r = run_cli(["--help"])
    assert r.returncode == 0
    for word in ("--config", "--check", "user add", "--role", "--log-level", "--version",
                 "--port-file", "--list-routes"):
        assert word in r.stdout
    r = run_cli(["--version"])
    assert r.returncode == 0
    assert re.fullmatch(r"zaulekd \d+\.\d+\.\d+\n", r.stdout)


def test_usage_errors_exit_2():
    for args, fragment in ((["--bogus"], "unknown option '--bogus'"),
                           ([], "--config FILE is required"),
                           (["--config", "x.toml", "user", "add", "a"], "needs --role"),
                           (["--config", "x.toml", "--log-level", "loud"], "unknown log level")):
        r = run_cli(args)
        assert r.returncode == 2, args
        assert fragment in r.stderr
        assert "usage: zaulekd" in r.stderr
        assert r.stdout == ""


def test_check_good_and_bad(tmp_path):
    d = Zaulekd(tmp_path / "ok")
    r = run_cli(["--config", str(d.config_path), "--check"])
    assert r.returncode == 0, r.stderr
    bad_cases = {
        "typo.toml": ("[server]\nlisten = \"127.0.0.1:8080\"\nthreadz = 2\n", ":3:"),
        "range.toml": ("[server]\nthreads = 0\n", ":2:"),
        "type.toml": ("[server]\nthreads = \"2\"\n", ":2:"),
        "arraytype.toml": ("[discovery]\ninterfaces = \"lo\"\n", ":2:"),
        "syntax.toml": ("[server\nlisten = 1\n", ":1:"),
        "plain.toml": ("[server]\nlisten = \"0.0.0.0:8080\"\n", "allow_plain_http"),
    }
    for name, (text, fragment) in bad_cases.items():
        p = tmp_path / name
        p.write_text(text)
        r = run_cli(["--config", str(p), "--check"])
        assert r.returncode == 1, (name, r.stdout)
        assert r.stderr.startswith(str(p) + ":"), (name, r.stderr)
        assert fragment in r.stderr, (name, r.stderr)
    r = run_cli(["--config", str(tmp_path / "missing.toml"), "--check"])
    assert r.returncode == 1 and "missing.toml" in r.stderr


def test_user_add(tmp_path):
    d = Zaulekd(tmp_path)
    cfg = str(d.config_path)
    r = run_cli(["--config", cfg, "user", "add", "ala", "--role", "investigator"],
                stdin_text="secret-password-1\n")
    assert r.returncode == 0, r.stderr
    assert "created user ala (investigator)" in r.stdout
    assert "secret-password-1" not in r.stdout + r.stderr
    r = run_cli(["--config", cfg, "user", "add", "ala", "--role", "operator"],
                stdin_text="another-password\n")
    assert r.returncode == 1
    assert "user 'ala' already exists" in r.stderr
    for pw, msg in (("\n", "password is empty"), ("", "password is empty"),
                    ("short\n", "at least 8 characters"),
                    ("x" * 2000 + "\n", "at most 1024 characters")):
        r = run_cli(["--config", cfg, "user", "add", "bob", "--role", "operator"], stdin_text=pw)
        assert r.returncode == 1, pw
        assert msg in r.stderr
    r = run_cli(["--config", cfg, "user", "add", "bad name", "--role", "operator"],
                stdin_text="password-ok\n")
    assert r.returncode == 1 and "user name" in r.stderr
    # --cameras: ids of cameras that exist (none here), never for an administrator.
    for args, code, msg in ((["--role", "administrator", "--cameras", "cam-1"], 2,
                             "administrators always see every camera"),
                            (["--role", "operator", "--cameras", "cam 1"], 2, "camera ids"),
                            (["--role", "operator", "--cameras", "cam-9"], 1, "no camera cam-9")):
        r = run_cli(["--config", cfg, "user", "add", "cyd", *args], stdin_text="password-ok\n")
        assert r.returncode == code and msg in r.stderr, (args, r.stderr)
    # The user exists and can log in; the creation is audited as "cli".
    d.passwords["ala"] = "secret-password-1"
    d.start()
    try:
        tok = d.login("ala")["token"]
        import requests
        r = requests.get(d.url("/api/v1/audit"), headers={"Authorization": "Bearer " + tok},
                         timeout=5)
        rows = [e for e in r.json()["entries"] if e["action"] == "user.create"]
        assert [(e["actor"], e["target"]) for e in rows] == [("cli", "user:ala")]  # no cyd
    finally:
        assert d.stop()[0] == 0


def test_log_level_override(tmp_path):
    d = Zaulekd(tmp_path)
    d.add_user("ola", "operator")
    # --log-level warn hides the info "listening" line.
    import subprocess
    import os
    p = subprocess.Popen([str(run_cli.__globals__["ZAULEKD"]), "--config", str(d.config_path),
                          "--log-level", "warn", "--port-file", str(d.port_file)],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         env=dict(os.environ, ZAULEK_TEST_FAST_HASH="1"))
    import time
    deadline = time.monotonic() + 10
    while not d.port_file.exists():
        assert time.monotonic() < deadline and p.poll() is None
        time.sleep(0.02)
    p.terminate()
    _, err = p.communicate(timeout=5)
    assert p.returncode == 0
    assert b"listening on" not in err
