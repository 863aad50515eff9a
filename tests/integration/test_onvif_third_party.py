"""Acceptance with a third-party ONVIF client: the npm `onvif` package (version
pinned in tests/onvif-client/package.json, package-lock.json committed) drives
zaulek-sim: WS-Discovery (multicast, inside a private network namespace),
WS-UsernameToken, device information, profiles, stream URIs, and an event fired
through the control API and read with createPullPointSubscription +
pullMessages. The node script prints what it got as JSON; we assert on it."""

import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from simfleet import SimFleet, cache_dir, sim_binary  # noqa: E402

CLIENT_DIR = Path(__file__).resolve().parent.parent / "onvif-client"
USER, PASSWORD = "operator-cam", "Tr1cky&<pw>"


@pytest.fixture(scope="module")
def node_client():
    node = shutil.which("node")
    npm = shutil.which("npm")
    assert node and npm, "node and npm are needed (scripts/packages.txt: nodejs, npm)"
    if not (CLIENT_DIR / "node_modules" / "onvif").is_dir():
        # Exact versions from package-lock.json; fails loudly without the registry.
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CLIENT_DIR, check=True,
                       timeout=300)
    return [node, str(CLIENT_DIR / "client.js")]


def run_client(cmd, timeout=120):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = p.stdout.strip().splitlines()
    assert lines, f"client printed nothing (exit {p.returncode}): {p.stderr}"
    out = json.loads(lines[-1])
    assert "fatal" not in out, f"{out['fatal']}\nstderr: {p.stderr}"
    assert p.returncode == 0, p.stderr
    return out


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


@pytest.mark.parametrize("kind,topic,data_name", [
    ("motion", "tns1:RuleEngine/CellMotionDetector/Motion", "IsMotion"),
    ("tamper", "tns1:VideoSource/GlobalSceneChange/ImagingService", "State"),
])
def test_npm_onvif_reads_device_profiles_streams_and_pulls_event(node_client, tmp_path, kind,
                                                                  topic, data_name):
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        cam = sim.cameras[1]
        url = urlparse(cam["onvif_url"])
        pw_file = tmp_path / "pw"
        pw_file.write_text(PASSWORD + "\n")
        out = run_client(node_client + ["--host", url.hostname, "--port", str(url.port),
                                        "--user", USER, "--password-file", str(pw_file),
                                        "--control", sim.control_url, "--camera", "1",
                                        "--kind", kind])
    print(json.dumps(out, indent=1))
    assert out["device"]["manufacturer"] == "Zaulek"
    assert out["device"]["model"] == "SimCam-1080"
    assert out["device"]["serialNumber"] == "ZSIM000001"
    assert [p["token"] for p in out["profiles"]] == ["main", "sub"]
    assert (out["profiles"][0]["width"], out["profiles"][0]["height"]) == (1920, 1080)
    assert (out["profiles"][1]["width"], out["profiles"][1]["height"]) == (640, 360)
    assert out["profiles"][0]["encoding"] == "H264"
    assert out["video_sources"] == ["vs0"]
    assert out["stream_uri"] == {"main": cam["rtsp_main"], "sub": cam["rtsp_sub"]}
    device_time = parse_time(out["device_time"])
    assert abs((device_time - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 120
    assert len(out["events"]) == 1, out["events"]
    ev = out["events"][0]
    assert ev["topic"] == topic
    assert ev["dialect"] == "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
    assert ev["property_operation"] == "Changed"
    # xml2js in the client turns "true" into a boolean.
    assert ev["data"][data_name] in (True, "true")
    assert abs((parse_time(ev["utc_time"]) - parse_time(out["fired"]["time"])).total_seconds()) \
        < 0.001


def test_npm_onvif_wrong_password_is_refused(node_client, tmp_path):
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        url = urlparse(sim.cameras[0]["onvif_url"])
        pw_file = tmp_path / "pw"
        pw_file.write_text("not-the-password\n")
        p = subprocess.run(node_client + ["--host", url.hostname, "--port", str(url.port),
                                          "--user", USER, "--password-file", str(pw_file)],
                           capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    out = json.loads(p.stdout.strip().splitlines()[-1])
    # The client reports the device's SOAP fault text (ter:NotAuthorized).
    assert "not authorized" in out["fatal"].lower(), out


def test_npm_onvif_discovery_probe_in_netns(node_client, tmp_path):
    """Discovery.probe sends to 239.255.255.250:3702; the host's lo has no
    multicast, so simulator and client run in a namespace of our own."""
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root (ip netns add)")
    ns = f"zsim-npm-{os.getpid()}-{int(time.monotonic() * 1000) % 100000}"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=30)
    sim = None
    log = open(tmp_path / "sim.log", "wb")
    try:
        for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "link", "set", "lo", "multicast", "on"],
                    ["ip", "route", "add", "239.0.0.0/8", "dev", "lo"]):
            subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True, timeout=30)
        sim = subprocess.Popen(["ip", "netns", "exec", ns, sim_binary(), "--cameras", "3",
                                "--bind", "127.0.0.1", "--base-port", "0", "--json",
                                "--cache-dir", cache_dir()], stdout=subprocess.PIPE, stderr=log)
        info = json.loads(sim.stdout.readline())
        out = run_client(["ip", "netns", "exec", ns, *node_client, "--probe"])
    finally:
        if sim:
            sim.terminate()
            sim.wait(timeout=20)
        log.close()
        subprocess.run(["ip", "netns", "del", ns], timeout=30)
    print(json.dumps(out, indent=1))
    assert out["errors"] == []
    found = {d["xaddrs"]: d for d in out["discovered"]}
    assert set(found) == {c["onvif_url"] for c in info["cameras"]}
    for c in info["cameras"]:
        scopes = found[c["onvif_url"]]["scopes"].split()
        assert f"onvif://www.onvif.org/name/{c['name']}" in scopes
        assert "onvif://www.onvif.org/type/video_encoder" in scopes
        assert "onvif://www.onvif.org/Profile/Streaming" in scopes
