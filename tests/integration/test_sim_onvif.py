"""zaulek-sim's ONVIF side, driven like a camera client would: raw SOAP over
HTTP (hand-written envelopes, hashlib UsernameToken; not our gSOAP code),
events and faults through the control API, WS-Discovery over real multicast
inside a network namespace that the test creates."""

import base64
import datetime
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from simfleet import SimFleet, cache_dir, sim_binary  # noqa: E402
from zaulekd_fixture import wait_until  # noqa: E402

# ---------------------------------------------------------------- raw SOAP

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tev": "http://www.onvif.org/ver10/events/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "wsa5": "http://www.w3.org/2005/08/addressing",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsdd": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
}

NSDECL = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items() if k != "s")


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def username_token(user, password, created=None, nonce=None):
    nonce = nonce or os.urandom(16)
    created = created or rfc3339(utc_now())
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest())
    return (
        '<wsse:Security s:mustUnderstand="1" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
        'oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/'
        '2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username>"
        '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-'
        f'token-profile-1.0#PasswordDigest">{digest.decode()}</wsse:Password>'
        '<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-'
        f'message-security-1.0#Base64Binary">{base64.b64encode(nonce).decode()}</wsse:Nonce>'
        f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"
    )


def envelope(body, header=""):
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{NS["s"]}" {NSDECL}>'
        f"<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )


def post(url, data, headers=None, timeout=30):
    """Returns (status, body bytes, response headers)."""
    h = {"Content-Type": "application/soap+xml; charset=utf-8"}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method="POST", headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def soap(url, body, user=None, password=None, created=None, timeout=30):
    """Returns (status, parsed root or None)."""
    header = username_token(user, password, created) if user else ""
    status, data, _ = post(url, envelope(body, header).encode(), timeout=timeout)
    try:
        return status, ET.fromstring(data)
    except ET.ParseError:
        return status, None


def text(root, path):
    el = root.find(path, NS)
    return None if el is None else el.text


def fault_subcode(root):
    return text(root, ".//s:Fault/s:Code/s:Subcode/s:Value") if root is not None else None


def port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- tests

USER, PASSWORD = "admin", "Zaul3k-pw"


@pytest.fixture(scope="module")
def sim():
    with SimFleet(cameras=2, user=USER, password=PASSWORD, h265=True) as s:
        yield s


def services(cam):
    base = cam["onvif_url"].rsplit("/", 1)[0]
    return base + "/device_service", base + "/media_service", base + "/events_service"


def test_device_and_media_answer_with_camera_identity(sim):
    cam = sim.cameras[0]
    dev, media, _ = services(cam)
    # Time is open to all; the rest needs credentials.
    status, root = soap(dev, "<tds:GetSystemDateAndTime/>")
    assert status == 200
    assert text(root, ".//tt:UTCDateTime/tt:Date/tt:Year") == str(utc_now().year)
    status, _ = soap(dev, "<tds:GetDeviceInformation/>")
    assert status == 401

    status, root = soap(dev, "<tds:GetDeviceInformation/>", USER, PASSWORD)
    assert status == 200
    assert text(root, ".//tds:Manufacturer") == "Zaulek"
    assert text(root, ".//tds:SerialNumber") == "ZSIM000000"

    status, root = soap(media, "<trt:GetProfiles/>", USER, PASSWORD)
    assert status == 200
    profiles = root.findall(".//trt:Profiles", {"trt": "http://www.onvif.org/ver10/media/wsdl"})
    assert [p.get("token") for p in profiles] == ["main", "sub"]
    encodings = [e.text for e in root.iter("{http://www.onvif.org/ver10/schema}Encoding")]
    assert encodings == ["H265", "H264"]  # --h265: main only

    for token, key in (("main", "rtsp_main"), ("sub", "rtsp_sub")):
        body = ("<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream>"
                "<tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>"
                f"<trt:ProfileToken>{token}</trt:ProfileToken></trt:GetStreamUri>")
        status, root = soap(media, body, USER, PASSWORD)
        assert status == 200
        assert text(root, ".//tt:Uri") == cam[key]

    status, root = soap(dev, "<tds:GetScopes/>", USER, PASSWORD)
    scopes = {e.text for e in root.iter("{http://www.onvif.org/ver10/schema}ScopeItem")}
    assert "onvif://www.onvif.org/name/sim-cam-000" in scopes
    assert "onvif://www.onvif.org/Profile/Streaming" in scopes

    # Snapshot: one JPEG over HTTP digest.
    r = requests.get(cam["snapshot_url"], auth=requests.auth.HTTPDigestAuth(USER, PASSWORD),
                     timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "image/jpeg"
    assert r.content[:2] == b"\xff\xd8"
    assert requests.get(cam["snapshot_url"], timeout=10).status_code == 401


def test_wrong_credentials_are_ter_not_authorized(sim):
    dev, _, _ = services(sim.cameras[1])
    status, root = soap(dev, "<tds:GetDeviceInformation/>", USER, "wrong")
    assert status == 400
    assert fault_subcode(root) == "ter:NotAuthorized"
    stale = rfc3339(utc_now() - datetime.timedelta(minutes=6))
    status, root = soap(dev, "<tds:GetDeviceInformation/>", USER, PASSWORD, created=stale)
    assert status == 400
    assert fault_subcode(root) == "ter:NotAuthorized"
    # Malformed SOAP over HTTP: a fault, not a crash.
    status, data, _ = post(dev, b"<not-soap>")
    assert status == 400
    assert b"ter:WellFormed" in data


WSNT = "{http://docs.oasis-open.org/wsn/b-2}"
TT = "{http://www.onvif.org/ver10/schema}"


def pull(address, timeout="PT10S", limit=10):
    status, root = soap(address, f"<tev:PullMessages><tev:Timeout>{timeout}</tev:Timeout>"
                        f"<tev:MessageLimit>{limit}</tev:MessageLimit></tev:PullMessages>",
                        USER, PASSWORD, timeout=90)
    return status, root, ([] if root is None else root.findall(f".//{WSNT}NotificationMessage"))


def items(el):
    return {i.get("Name"): i.get("Value") for i in el.findall(f"{TT}SimpleItem")}


def test_event_fired_through_control_api_is_pulled(sim):
    _, _, events = services(sim.cameras[0])
    status, root = soap(events, "<tev:GetEventProperties/>", USER, PASSWORD)
    assert status == 200
    topic_set = root.find(".//{http://docs.oasis-open.org/wsn/t-1}TopicSet")
    assert topic_set is not None
    assert topic_set.find("{http://www.onvif.org/ver10/topics}RuleEngine") is not None

    body = ("<tev:CreatePullPointSubscription><tev:InitialTerminationTime>PT60S"
            "</tev:InitialTerminationTime></tev:CreatePullPointSubscription>")
    status, root = soap(events, body, USER, PASSWORD)
    assert status == 200
    address = text(root, ".//tev:SubscriptionReference/wsa5:Address")
    assert address.startswith(sim.cameras[0]["onvif_url"].rsplit("/", 2)[0])

    cases = (
        ("tamper", "tns1:VideoSource/GlobalSceneChange/ImagingService", "State"),
        ("line_crossing", "tns1:RuleEngine/LineDetector/Crossed", "ObjectId"),
        ("field_detection", "tns1:RuleEngine/FieldDetector/ObjectsInside", "IsInside"),
        ("motion", "tns1:RuleEngine/CellMotionDetector/Motion", "IsMotion"),
    )
    for kind, topic, data_name in cases:
        fired = sim.post_event(0, kind, True)
        status, root, msgs = pull(address)
        assert status == 200, kind
        assert len(msgs) == 1, kind
        assert msgs[0].find(f"{WSNT}Topic").text == topic
        assert msgs[0].find(f"{WSNT}Topic").get("Dialect") == \
            "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
        message = msgs[0].find(f"{WSNT}Message/{TT}Message")
        # The UtcTime written equals the time the control API returned (ms).
        utc = datetime.datetime.fromisoformat(message.get("UtcTime").replace("Z", "+00:00"))
        fired_at = datetime.datetime.fromisoformat(fired["time"].replace("Z", "+00:00"))
        assert abs((utc - fired_at).total_seconds()) < 0.001, (utc, fired_at)
        data = items(message.find(f"{TT}Data"))
        assert data_name in data
        if kind == "line_crossing":
            assert message.get("PropertyOperation") is None  # a pulse
        else:
            assert data[data_name] == "true"
            assert message.get("PropertyOperation") == "Changed"
    # Nothing queued: a short Timeout returns empty.
    status, _, msgs = pull(address, timeout="PT0.3S")
    assert status == 200 and msgs == []
    status, _ = soap(address, "<wsnt:Unsubscribe/>", USER, PASSWORD)
    assert status == 200
    status, _, _ = pull(address, timeout="PT0.3S")
    assert status == 400


def test_faults_through_control_api(sim):
    cam = sim.cameras[1]
    dev, _, _ = services(cam)
    sim.set_faults(1, clock_skew_s=3 * 3600)
    status, root = soap(dev, "<tds:GetSystemDateAndTime/>")
    hour = int(text(root, ".//tt:UTCDateTime/tt:Time/tt:Hour"))
    expect = (utc_now() + datetime.timedelta(hours=3)).hour
    assert hour in (expect, (expect + 23) % 24)
    # A UsernameToken on our clock is outside the device's window...
    assert soap(dev, "<tds:GetDeviceInformation/>", USER, PASSWORD)[0] == 400
    # ...one on the device's clock is inside.
    skewed = rfc3339(utc_now() + datetime.timedelta(hours=3))
    assert soap(dev, "<tds:GetDeviceInformation/>", USER, PASSWORD, created=skewed)[0] == 200
    sim.set_faults(1, clock_skew_s=0)

    sim.set_faults(1, wrong_password=True)
    status, root = soap(dev, "<tds:GetDeviceInformation/>", USER, PASSWORD)
    assert status == 400 and fault_subcode(root) == "ter:NotAuthorized"
    sim.set_faults(1, wrong_password=False)

    sim.set_faults(1, soap_delay_ms=400)
    t0 = time.monotonic()
    assert soap(dev, "<tds:GetDeviceInformation/>", USER, PASSWORD)[0] == 200
    waited = time.monotonic() - t0
    print(f"soap_delay_ms=400: answered after {waited * 1000:.0f} ms")
    assert waited >= 0.4  # a timer never fires early
    sim.set_faults(1, soap_delay_ms=0)

    sim.set_faults(1, malformed_soap=True)
    status, root = soap(dev, "<tds:GetDeviceInformation/>", USER, PASSWORD)
    assert status == 200 and root is None  # broken XML
    sim.set_faults(1, malformed_soap=False)
    assert soap(dev, "<tds:GetDeviceInformation/>", USER, PASSWORD)[0] == 200

    port = int(dev.split(":")[2].split("/")[0])
    sim.set_faults(1, reboot_s=2)
    wait_until("the port closed", lambda: not port_open("127.0.0.1", port), 5, step=0.1)
    wait_until("the port open again", lambda: port_open("127.0.0.1", port), 20, step=0.1)
    assert soap(dev, "<tds:GetDeviceInformation/>", USER, PASSWORD)[0] == 200


# ---------------------------------------------------------------- WS-Discovery in a netns

# Runs inside the namespace. listen: joins the group and prints what is sent
# to it (until `payload` Byes or `seconds`); multicast/unicast: sends garbage
# then `payload` to 3702 and prints the replies seen within `seconds`.
PROBE_HELPER = r"""
import json, socket, struct, sys, time
mode, seconds, payload = sys.argv[1], float(sys.argv[2]), sys.argv[3].encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if mode == "listen":
    s.bind(("239.255.255.250", 3702))  # group traffic only, unicast goes to the simulator
    mreq = struct.pack("4s4s", socket.inet_aton("239.255.255.250"), socket.inet_aton("127.0.0.1"))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    print("ready", flush=True)
else:
    s.bind(("127.0.0.1", 0))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    dest = ("239.255.255.250" if mode == "multicast" else "127.0.0.1", 3702)
    for junk in (b"\x00garbage<<", b"<" * 65000):
        s.sendto(junk, dest)
    s.sendto(payload, dest)
out, deadline = [], time.monotonic() + seconds
while time.monotonic() < deadline and len(out) < 50:
    s.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        data, addr = s.recvfrom(70000)
    except socket.timeout:
        break
    out.append(data.decode(errors="replace"))
    if mode == "listen":  # as it comes: the test waits for what it needs
        print("got " + ("Hello" if "discovery/Hello" in out[-1] else
                        "Bye" if "discovery/Bye" in out[-1] else "other"), flush=True)
    # listen: stop early once the simulator said Bye for every camera.
    if mode == "listen" and sum("discovery/Bye" in d for d in out) >= int(payload or 0) > 0:
        break
print(json.dumps(out), flush=True)
"""

PROBE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:w="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
    'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><e:Header>'
    "<w:MessageID>uuid:{id}</w:MessageID>"
    "<w:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>"
    "<w:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</w:Action></e:Header>"
    "<e:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types>{scopes}</d:Probe>"
    "</e:Body></e:Envelope>"
)


def actions(datagrams):
    out = []
    for d in datagrams:
        try:
            root = ET.fromstring(d)
        except ET.ParseError:
            out.append("unparseable")
            continue
        out.append(text(root, ".//wsa:Action").rsplit("/", 1)[-1])
    return out


class Netns:
    """A private network namespace with a multicast-capable loopback."""

    def __init__(self):
        self.name = f"zsim-onvif-{os.getpid()}-{int(time.monotonic() * 1000) % 100000}"
        self.run("ip", "netns", "add", self.name, ns=False)
        self.run("ip", "link", "set", "lo", "up")
        self.run("ip", "link", "set", "lo", "multicast", "on")
        self.run("ip", "route", "add", "239.0.0.0/8", "dev", "lo")

    def cmd(self, *args):
        return ["ip", "netns", "exec", self.name, *args]

    def run(self, *args, ns=True):
        subprocess.run(self.cmd(*args) if ns else list(args), check=True, timeout=30,
                       capture_output=True)

    def close(self):
        subprocess.run(["ip", "netns", "del", self.name], timeout=30)


def helper(ns, mode, seconds, payload=""):
    return subprocess.Popen(ns.cmd(sys.executable, "-c", PROBE_HELPER, mode, str(seconds),
                                   payload), stdout=subprocess.PIPE, text=True)


def finish(proc):
    out, _ = proc.communicate(timeout=60)
    return json.loads(out.strip().splitlines()[-1])


class Listener:
    """The "listen" helper read on a thread: its lines as they come."""

    def __init__(self, ns, seconds, byes):
        self.proc = helper(ns, "listen", seconds, str(byes))
        assert self.proc.stdout.readline().strip() == "ready"
        self.lines = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def count(self, action):
        return sum(1 for line in list(self.lines) if line == "got " + action)

    def finish(self):
        self.proc.wait(timeout=60)
        self.thread.join(timeout=10)
        return json.loads(self.lines[-1])


@pytest.fixture
def netns():
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root (ip netns add)")
    ns = Netns()
    yield ns
    ns.close()


def test_discovery_multicast_hello_probe_bye(netns, tmp_path):
    listener = Listener(netns, 60, 2)
    log = open(tmp_path / "sim.log", "wb")
    sim = subprocess.Popen(netns.cmd(sim_binary(), "--cameras", "2", "--bind", "127.0.0.1",
                                     "--base-port", "0", "--json", "--cache-dir", cache_dir()),
                           stdout=subprocess.PIPE, stderr=log)
    try:
        info = json.loads(sim.stdout.readline())
        urls = {c["onvif_url"] for c in info["cameras"]}
        # Multicast Probe (plus garbage before it): one ProbeMatches per camera.
        replies = finish(helper(netns, "multicast", 3, PROBE.format(id="p1", scopes="")))
        assert sorted(actions(replies)) == ["ProbeMatches", "ProbeMatches"]
        assert all("uuid:p1" in r for r in replies)
        assert {u for u in urls if any(u in r for r in replies)} == urls
        # Unicast Probe to 3702 with a scope only camera 1 has.
        scoped = PROBE.format(id="p2", scopes="<d:Scopes>onvif://www.onvif.org/name/sim-cam-001"
                              "</d:Scopes>")
        replies = finish(helper(netns, "unicast", 3, scoped))
        assert actions(replies) == ["ProbeMatches"]
        assert info["cameras"][1]["onvif_url"] in replies[0]
        # duplicate_discovery through the control API (inside the namespace).
        body = json.dumps({"duplicate_discovery": 3})
        netns.run("curl", "-sf", "-X", "POST", "-H", "Content-Type: application/json", "-d",
                  body, info["control_url"] + "/sim/cameras/0/faults")
        replies = finish(helper(netns, "multicast", 3, PROBE.format(id="p3", scopes="")))
        assert sorted(actions(replies)) == ["ProbeMatches"] * 4
        # A reboot: no answers while down, a new Hello when back.
        netns.run("curl", "-sf", "-X", "POST", "-H", "Content-Type: application/json", "-d",
                  json.dumps({"reboot_s": 4}), info["control_url"] + "/sim/cameras/1/faults")
        replies = finish(helper(netns, "unicast", 0.5, scoped))
        assert replies == []
        back = False
        for _ in range(20):  # bounded: the reboot lasts 4 s
            back = actions(finish(helper(netns, "unicast", 1, scoped))) == ["ProbeMatches"]
            if back:
                break
        assert back
        # The responder notices the camera back within 0.5 s and says Hello.
        wait_until("the Hello after the reboot", lambda: listener.count("Hello") >= 3, 2.0)
    finally:
        sim.terminate()
        sim.wait(timeout=20)
        log.close()
    seen = actions(listener.finish())
    assert seen.count("Hello") == 3, seen  # two at start, one after the reboot
    assert seen.count("Bye") == 2, seen
