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
    p = subprocess.Popen([str(run_cli.__globals__["ZAULEKD"]), "--config", str(d.config_path),
                          "--log-level", "warn", "--port-file", str(d.port_file)],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    import time
    deadline = time.monotonic() + 10
    while not d.port_file.exists():
        assert time.monotonic() < deadline and p.poll() is None
        time.sleep(0.02)
    p.terminate()
    _, err = p.communicate(timeout=5)
    assert p.returncode == 0
    assert b"listening on" not in err


def test_user_passwd_disable_enable_list(tmp_path):
    d = Zaulekd(tmp_path)
    cfg = str(d.config_path)
    d.add_user("adam", "administrator")
    d.add_user("ola", "operator")
    r = run_cli(["--config", cfg, "user", "list"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["name\trole\tstate\tcameras\tsessions",
                                     "adam\tadministrator\tenabled\tall cameras\t0",
                                     "ola\toperator\tenabled\tall cameras\t0"]
    # Usage errors name what is wrong; the password never comes from argv.
    for args, fragment in ((["user", "passwd"], "user passwd needs exactly one NAME"),
                           (["user", "disable", "a", "b"], "user disable needs exactly one NAME"),
                           (["user", "list", "a", "b"], "user list takes at most one NAME"),
                           (["user", "enable", "ola", "--role", "operator"],
                            "--role and --cameras belong to user add"),
                           (["user", "rename", "ola"], "user passwd|disable|enable NAME")):
        r = run_cli(["--config", cfg, *args])
        assert r.returncode == 2 and fragment in r.stderr, (args, r.stderr)
    for args, stdin, msg in ((["passwd", "nobody"], "password-ok-1\n", "no user 'nobody'"),
                             (["disable", "nobody"], None, "no user 'nobody'"),
                             (["passwd", "ola"], "short\n", "at least 8 characters"),
                             (["passwd", "ola"], "", "password is empty"),
                             (["disable", "adam"], None, "last enabled administrator")):
        r = run_cli(["--config", cfg, "user", *args], stdin_text=stdin)
        assert r.returncode == 1 and msg in r.stderr, (args, r.stderr)

    d.start()
    try:
        import requests
        old_token = d.login("ola")["token"]
        me = d.url("/api/v1/auth/me")
        auth = {"Authorization": "Bearer " + old_token}
        assert requests.get(me, headers=auth, timeout=5).status_code == 200
        # passwd while the daemon runs: her session ends, the new password works.
        r = run_cli(["--config", cfg, "user", "passwd", "ola"], stdin_text="cli-new-pass-1\n")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "password of ola changed; 1 session(s) ended\n"
        assert "cli-new-pass-1" not in r.stdout + r.stderr
        assert requests.get(me, headers=auth, timeout=5).status_code == 401
        d.passwords["ola"] = "cli-new-pass-1"
        token = d.login("ola")["token"]
        from test_accounts import Ws
        ws = Ws(d, token)
        # disable: refused at once; her console closes at the daemon's next
        # session check (10 s); enable: she logs in again.
        r = run_cli(["--config", cfg, "user", "disable", "ola"])
        assert r.returncode == 0 and r.stdout == "user ola disabled; 1 session(s) ended\n", r.stderr
        assert requests.get(me, headers={"Authorization": "Bearer " + token},
                            timeout=5).status_code == 401
        assert ws.closed(limit_s=30) == (1008, "session ended")
        r = requests.post(d.url("/api/v1/auth/login"),
                          json={"username": "ola", "password": "cli-new-pass-1"}, timeout=5)
        assert r.status_code == 401
        r = run_cli(["--config", cfg, "user", "disable", "ola"])
        assert r.returncode == 0 and r.stdout == "user ola is already disabled\n"
        r = run_cli(["--config", cfg, "user", "list", "ola"])
        assert r.stdout.splitlines()[1:] == ["ola\toperator\tdisabled\tall cameras\t0"], r.stdout
        r = run_cli(["--config", cfg, "user", "enable", "ola"])
        assert r.returncode == 0 and r.stdout == "user ola enabled\n", r.stderr
        d.login("ola")
        admin = {"Authorization": "Bearer " + d.login("adam")["token"]}
        rows = requests.get(d.url("/api/v1/audit?limit=1000"), headers=admin, timeout=5).json()
        got = [(e["actor"], e["action"], e["target"]) for e in rows["entries"]
               if e["action"] in ("user.password_reset", "user.disable", "user.enable")]
        assert got == [("cli", "user.password_reset", "user:ola"),
                       ("cli", "user.disable", "user:ola"),
                       ("cli", "user.enable", "user:ola")]
    finally:
        assert d.stop()[0] == 0


def test_help_lists_the_user_commands():
    r = run_cli(["--help"])
    for words in ("user passwd|disable|enable NAME", "user list [NAME]",
                  "user passwd NAME", "user disable NAME", "user enable NAME"):
        assert words in r.stdout, words
