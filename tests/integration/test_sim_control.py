"""zaulek-sim's control API, faults as an RTSP client sees them, scripts and the CLI."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from simfleet import SimFleet, sim_binary  # noqa: E402
from zaulekd_fixture import wait_until  # noqa: E402


def rtsp_port(url):
    return urllib.parse.urlparse(url).port


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def packets_while(url, seconds, action_after, action):
    """Reads `seconds` of stream with ffprobe; runs action() action_after seconds in.
    Returns [(pts, keyframe)]."""
    proc = subprocess.Popen(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-select_streams", "v:0",
         "-show_entries", "packet=pts_time,flags", "-of", "json",
         "-read_intervals", f"%+{seconds}", url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(action_after, action)
    timer.start()
    try:
        out, err = proc.communicate(timeout=seconds + 30)
    finally:
        timer.cancel()
    assert proc.returncode == 0, err
    return [(float(p["pts_time"]), "K" in p["flags"])
            for p in json.loads(out)["packets"] if "pts_time" in p]


@pytest.fixture(scope="module")
def sim():
    with SimFleet(cameras=4) as s:
        yield s


def test_list_cameras(sim):
    cams = sim.list_cameras()
    assert [c["index"] for c in cams] == [0, 1, 2, 3]
    for c, printed in zip(cams, sim.cameras):
        assert c["rtsp_main"] == printed["rtsp_main"]
        assert c["onvif_url"] == printed["onvif_url"]
        assert c["faults"]["rebooting"] is False
        assert c["faults"]["no_keyframes"] is False
        assert c["faults"]["duplicate_discovery"] == 1


def test_event_returns_timestamp_or_501_without_onvif(sim):
    status, body = sim.request("POST", "/sim/cameras/1/events", {"kind": "motion", "state": True})
    if sim.info["onvif"]:
        assert status == 200, body
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", body["time"])
        assert abs(body["time_ns"] / 1e9 - time.time()) < 5
        stop = sim.post_event(1, "motion", False)
        assert stop["time_ns"] >= body["time_ns"]
    else:
        assert status == 501
        assert "ONVIF" in body["error"]


@pytest.mark.parametrize("method,path,body,status,text", [
    ("POST", "/sim/cameras/0/events", b"{not json", 400, "not valid JSON"),
    ("POST", "/sim/cameras/0/events", b'{"kind":"explosion"}', 400, "unknown event kind"),
    ("POST", "/sim/cameras/0/events", b'{"state":"yes"}', 400, "state"),
    ("POST", "/sim/cameras/0/events", b"[1,2]", 400, "JSON object"),
    ("POST", "/sim/cameras/9/events", b'{"kind":"motion"}', 404, "no camera 9"),
    ("POST", "/sim/cameras/-1/faults", b"{}", 404, "no such resource"),
    ("POST", "/sim/cameras/x/faults", b"{}", 404, "no such resource"),
    ("POST", "/sim/cameras/99999999999/faults", b"{}", 404, "no such resource"),
    ("POST", "/sim/cameras/0/faults", b'{"rtsp_drop":1}', 400, "rtsp_drop"),
    ("POST", "/sim/cameras/0/faults", b'{"rtsp_stall_ms":-5}', 400, "out of range"),
    ("POST", "/sim/cameras/0/faults", b'{"reboot_s":"3"}', 400, "expected an integer"),
    ("POST", "/sim/cameras/0/faults", b'{"melt":true}', 400, "unknown fault: melt"),
    ("POST", "/sim/cameras/0/faults", b"", 400, "not valid JSON"),
    ("GET", "/sim/cameras/0/events", None, 405, "POST"),
    ("DELETE", "/sim/cameras", None, 405, "GET"),
    ("GET", "/nothing/here", None, 404, "no such resource"),
    ("POST", "/sim/cameras/0/faults", b"{" + b" " * 20000 + b"}", 413, "larger than"),
])
def test_bad_requests_get_json_errors(sim, method, path, body, status, text):
    got, reply = sim.request(method, path, raw=body)
    assert got == status, reply
    assert text in reply["error"]
    assert sim.proc.poll() is None
    assert len(sim.list_cameras()) == 4, "still serving"


def test_bad_fault_request_applies_nothing(sim):
    status, _ = sim.request("POST", "/sim/cameras/3/faults", {"no_keyframes": True, "reboot_s": -1})
    assert status == 400
    assert sim.list_cameras()[3]["faults"]["no_keyframes"] is False


def test_onvif_faults_are_recorded(sim):
    faults = sim.set_faults(3, clock_skew_s=-120, soap_delay_ms=250, duplicate_discovery=3,
                            malformed_soap=True, wrong_password=True)
    assert (faults["clock_skew_s"], faults["soap_delay_ms"]) == (-120, 250)
    assert faults["duplicate_discovery"] == 3
    assert faults["malformed_soap"] is True and faults["wrong_password"] is True
    listed = sim.list_cameras()[3]["faults"]
    assert listed["clock_skew_s"] == -120
    back = sim.set_faults(3, clock_skew_s=0, soap_delay_ms=0, duplicate_discovery=1,
                          malformed_soap=False, wrong_password=False)
    assert back["malformed_soap"] is False and back["clock_skew_s"] == 0


def test_stall_shows_as_timestamp_gap(sim):
    url = sim.cameras[0]["rtsp_main"]
    packets = packets_while(url, 7, 2.5, lambda: sim.set_faults(0, rtsp_stall_ms=1500))
    pts = [p for p, _ in packets]
    gaps = [b - a for a, b in zip(pts, pts[1:])]
    assert all(g > 0 for g in gaps)
    big = [g for g in gaps if g > 0.2]
    assert len(big) == 1, gaps
    assert 1.3 <= big[0] <= 1.7, big
    # The simulator counts the slots it did not send (GET /sim/cameras).
    stalled = sim.list_cameras()[0]["streams"]["main"]["frames_stalled"]
    assert 30 <= stalled <= 45, stalled


def test_rtsp_drop_disconnects_clients(sim):
    url = sim.cameras[1]["rtsp_sub"]
    # Line-buffered, so that the frames show as they arrive.
    proc = subprocess.Popen(
        ["stdbuf", "-oL", "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
         "packet=pts_time", "-of", "csv=p=0", "-read_intervals", "%+60", url],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = []

    def read():
        for line in proc.stdout:
            lines.append(line)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def frames_seen():
        return [l for l in list(lines) if l.strip() and l.strip() != "N/A"]
    try:
        wait_until("client connected", lambda: sim.list_cameras()[1]["rtsp_clients"] == 1, 15,
                   step=0.1)
        wait_until("10 frames at the client", lambda: len(frames_seen()) >= 10, 15)
        sim.set_faults(1, rtsp_drop=True)
        proc.wait(timeout=20)  # ends long before its 60 s of stream
        reader.join(timeout=5)
        frames = frames_seen()
        assert 10 <= len(frames) < 25 * 30, len(frames)
        assert sim.list_cameras()[1]["rtsp_clients"] == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The mount stays: a client can come back at once.
    out = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
                          "stream=width", "-of", "csv=p=0", url],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == "640", out.stderr


def test_reboot_takes_camera_down_then_back(sim):
    port = rtsp_port(sim.cameras[2]["rtsp_main"])
    assert port_open(port)
    faults = sim.set_faults(2, reboot_s=3)
    assert faults["rebooting"] is True
    assert not port_open(port), "RTSP refuses connections while rebooting"
    onvif_port = urllib.parse.urlparse(sim.cameras[2]["onvif_url"]).port
    if sim.info["onvif"]:
        wait_until("ONVIF down while rebooting", lambda: not port_open(onvif_port), 2, step=0.1)
    status, body = sim.request("POST", "/sim/cameras/2/events", {"kind": "motion"})
    assert status in (409, 501), body
    wait_until("RTSP listening again after the reboot", lambda: port_open(port), 10, step=0.1)
    if sim.info["onvif"]:
        wait_until("ONVIF back after the reboot", lambda: port_open(onvif_port), 5, step=0.1)
    assert sim.list_cameras()[2]["faults"]["rebooting"] is False
    out = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
                          "stream=codec_name,width", "-of", "csv=p=0",
                          sim.cameras[2]["rtsp_main"]],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.strip() == "h264,1920", out.stderr


def test_no_keyframes(sim):
    url = sim.cameras[3]["rtsp_main"]
    try:
        # ffprobe needs well under 2 s to connect: the fault lands between the
        # keyframes at pts 2 and 4 (one every 2 s).
        packets = packets_while(url, 9, 4.0, lambda: sim.set_faults(3, no_keyframes=True))
    finally:
        sim.set_faults(3, no_keyframes=False)
    assert len(packets) >= 25 * 6
    last = packets[-1][0]
    keys = [p for p, k in packets if k]
    assert keys, "keyframes before the fault"
    assert not [p for p in keys if p > last - 4.5], f"no keyframe in the last 4.5 s: {keys}"


def test_script_errors_name_file_and_line(tmp_path):
    script = tmp_path / "events.txt"
    script.write_text("# a comment\n1.5 0 motion start\n\n2 5 motion stop\n")
    out = subprocess.run([sim_binary(), "--cameras", "2", "--script", str(script)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert f"{script}:4: bad camera '5'" in out.stderr
    for line, text in [("x 0 motion start", "bad time 'x'"),
                       ("1 * dance start", "unknown kind 'dance'"),
                       ("1 0 motion maybe", "bad state 'maybe'"),
                       ("1 0 motion", "expected '<seconds>"),
                       ("1 0 motion start now", "unexpected 'now'")]:
        script.write_text(line + "\n")
        out = subprocess.run([sim_binary(), "--cameras", "2", "--script", str(script)],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 1, line
        assert f"{script}:1: {text}" in out.stderr, out.stderr


def test_script_and_random_events_fire(tmp_path):
    script = tmp_path / "events.txt"
    script.write_text("0.2 * tamper start\n0.4 1 motion stop\n")
    with SimFleet(cameras=2, script=script, seed=7, extra_args=["--event-rate", "600"]) as sim:
        fired = "event" if sim.info["onvif"] else "not fired"
        wanted = ["camera 0: event tamper start", "camera 1: event tamper start",
                  "camera 1: event motion stop", "camera 0: event motion start"]
        wait_until("the lines in the simulator's log",
                   lambda: all(w in sim.log() for w in wanted), 10, step=0.1, detail=sim.log)
        assert fired in sim.log()


@pytest.mark.parametrize("args,code,text", [
    (["--help"], 0, "usage: zaulek-sim"),
    ([], 2, "--cameras N is required"),
    (["--cameras", "0"], 2, "1 to 1000"),
    (["--cameras", "2", "--frobnicate"], 2, "unknown option --frobnicate"),
    (["--cameras", "2", "--user", "u"], 2, "--user and --password-file go together"),
    (["--cameras", "2", "--bind", "not-an-ip"], 2, "not an IP address"),
    (["--cameras", "40000", "--base-port", "1000"], 2, "1 to 1000"),
    (["--cameras", "100", "--base-port", "65500"], 2, "must be valid ports"),
])
def test_command_line(args, code, text):
    out = subprocess.run([sim_binary()] + args, capture_output=True, text=True, timeout=30)
    assert out.returncode == code
    assert text in out.stdout + out.stderr


def free_port_range(count, attempts=50):
    """A base port P such that P-1 .. P+count-1 were all free a moment ago."""
    import random
    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(20000, 60000)
        socks = []
        try:
            for port in range(base - 1, base + count):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


def test_base_port_scheme():
    base = free_port_range(2 * 3)
    with SimFleet(cameras=3, extra_args=["--base-port", str(base)]) as sim:
        # The later --base-port overrides simfleet's --base-port 0.
        for i, cam in enumerate(sim.cameras):
            assert urllib.parse.urlparse(cam["onvif_url"]).port == base + 2 * i
            assert rtsp_port(cam["rtsp_main"]) == base + 2 * i + 1
            assert rtsp_port(cam["rtsp_sub"]) == base + 2 * i + 1
        assert urllib.parse.urlparse(sim.control_url).port == base - 1
        assert port_open(base + 1) and port_open(base - 1)
