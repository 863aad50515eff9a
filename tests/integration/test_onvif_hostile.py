"""Hostile ONVIF replies against the real zaulekd: a reply with 100,000
attributes on one element (well-formed, under 1 MiB; gSOAP once spent over
90 s of CPU on it, on the threads serving consoles) and a reply announcing
Content-Length: 1 TiB with the first body bytes in the same segment (once an
abort with bad_alloc). Each is refused with a reason naming the camera, the
fault is counted in /metrics, /healthz keeps answering throughout, and the
daemon stays up: when onboarding a camera at such an address, and as the
events endpoint of a camera that onboarded normally (a proxy in front of the
simulator answers its PullMessages). A Notify POST announcing 1 TiB is
refused too."""
import re
import socket
import threading
import time

import requests

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns, wait_log
from simfleet import SimFleet
from zaulekd_fixture import wait_until

enter_netns()

USER = "hostadmin"
PASSWORD = "Host-Secret-5d1e08"
TIB = 1 << 40


def many_attributes_reply():
    """HTTP 200 with a GetSystemDateAndTimeResponse whose element carries
    100,000 distinct attributes (3-character names): well-formed, < 1 MiB."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    attrs = "".join(f" {alphabet[i // 3844 % 52]}{alphabet[i // 62 % 62]}{alphabet[i % 62]}=''"
                    for i in range(100000))
    body = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
            'xmlns:tev="http://www.onvif.org/ver10/events/wsdl"><s:Body>'
            f'<tds:GetSystemDateAndTimeResponse{attrs}></tds:GetSystemDateAndTimeResponse>'
            '</s:Body></s:Envelope>').encode()
    assert len(body) < 1 << 20
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def huge_reply(size):
    """A header announcing `size` bytes and the first body bytes, one segment."""
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: " +
            str(size).encode() + b"\r\n\r\n<s:Envelope>" + b"a" * 3000)


def read_request(conn, buf):
    """One HTTP request from `conn` (head and Content-Length body); None at EOF."""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    length = int(m.group(1)) if m else 0
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


def read_response(conn):
    """One HTTP response with a Content-Length body (the simulator's)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("simulator closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("simulator closed")
        body += chunk
    return head, body[:length]


class HostileOnvif:
    """A raw ONVIF endpoint on 127.0.0.1. Requests whose SOAP body names one of
    `hostile` get `reply` (written with one sendall: header and body bytes
    in one segment). Everything else goes to `upstream` (a simulated camera,
    "host:port"), with the camera's address in the reply rewritten to ours so
    that the service addresses (events, subscriptions) lead back here."""

    def __init__(self, reply, hostile=(b"",), upstream=None):
        self.reply = reply
        self.hostile = hostile
        self.upstream = upstream
        self.sent = 0  # hostile replies written
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/onvif/device_service"
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def set_reply(self, reply):
        with self.lock:
            self.reply = reply

    def _accept(self):
        while not self.closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(30)
        buf = b""
        try:
            while True:
                req, buf = read_request(conn, buf)
                if req is None:
                    return
                body = req.partition(b"\r\n\r\n")[2]
                if any(h in body for h in self.hostile) or not self.upstream:
                    with self.lock:
                        reply = self.reply
                        self.sent += 1
                    conn.sendall(reply)  # then the next request, or zaulekd closes
                    continue
                conn.sendall(self._forward(req))
        except OSError:
            pass
        finally:
            conn.close()

    def _forward(self, req):
        host, port = self.upstream.split(":")
        with socket.create_connection((host, int(port)), timeout=10) as up:
            up.sendall(req)
            head, body = read_response(up)
        body = body.replace(self.upstream.encode(), f"127.0.0.1:{self.port}".encode())
        head = re.sub(rb"(?im)^content-length:\s*\d+", b"Content-Length: " +
                      str(len(body)).encode(), head)
        return head + b"\r\n\r\n" + body

    def close(self):
        self.closing = True
        self.sock.close()


class HealthWatch:
    """Asks /healthz over and over on a thread of its own; every answer must
    be 200 (each request bounded by its timeout)."""

    def __init__(self, d):
        self.d = d
        self.answers = 0
        self.failures = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                r = requests.get(self.d.url("/healthz"), timeout=5)
                if r.status_code != 200:
                    self.failures.append(r.status_code)
                self.answers += 1
            except requests.RequestException as e:
                self.failures.append(repr(e))
            self.stop.wait(0.05)

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.failures, self.failures
        assert self.answers > 0


def faults(d):
    text = requests.get(d.url("/metrics"), timeout=10).text
    return {k: int(v) for k, v in
            re.findall(r'^zaulek_camera_faults_total\{kind="(\w+)"\} (\d+)$', text, re.M)}


def wait_fault(d, kind, above, limit_s=60):
    """Polls /metrics (bounded) until the fault counter of `kind` exceeds `above`."""
    wait_until(f"zaulek_camera_faults_total{{kind={kind!r}}} above {above}",
               lambda: faults(d).get(kind, 0) > above, limit_s, step=0.1)


def start(make_daemon):
    return make_daemon(extra_toml=FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n")


def test_onboarding_a_hostile_camera_fails_it_alone(make_daemon):
    d = start(make_daemon)
    h = admin_headers(d)
    watch = HealthWatch(d)
    before = faults(d)
    assert set(before) >= {"onvif_reply", "onvif_reply_too_large", "onvif_reply_too_complex"}

    attrs = HostileOnvif(many_attributes_reply())
    r, took = add_camera(d, h, attrs.url, USER, PASSWORD)
    print(f"100,000 attributes: {r.status_code} in {took:.3f} s")
    assert r.status_code == 502 and r.json()["error"]["code"] == "camera_bad_reply", r.text
    assert "more than 64 attributes on one element" in r.text, r.text
    assert attrs.sent >= 1

    for size in (TIB, 10 << 30):
        huge = HostileOnvif(huge_reply(size))
        r, took = add_camera(d, h, huge.url, USER, PASSWORD)
        print(f"Content-Length {size}: {r.status_code} in {took:.3f} s")
        assert r.status_code == 502 and r.json()["error"]["code"] == "camera_bad_reply", r.text
        assert f"camera at 127.0.0.1:{huge.port} declared a reply of {size} bytes" in r.text, r.text
        assert PASSWORD not in r.text
        huge.close()
    attrs.close()

    after = faults(d)
    assert after["onvif_reply_too_complex"] > before["onvif_reply_too_complex"]
    assert after["onvif_reply_too_large"] >= before["onvif_reply_too_large"] + 2
    assert d.proc.poll() is None
    watch.finish()


def test_hostile_events_endpoint_fails_that_camera_alone(make_daemon):
    d = start(make_daemon)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        upstream = re.match(r"http://([^/]+)/", sim.cameras[0]["onvif_url"]).group(1)
        proxy = HostileOnvif(many_attributes_reply(), hostile=(b"PullMessages",),
                             upstream=upstream)
        watch = HealthWatch(d)
        before = faults(d)
        r, _ = add_camera(d, h, proxy.url, USER, PASSWORD,
                          recording={"mode": "off", "retention_days": 30})
        assert r.status_code == 201, r.text
        cam_id = r.json()["id"]
        wait_log(d, rf"events {re.escape(cam_id)}: subscribed")
        # Its PullMessages replies: 100,000 attributes, then 1 TiB announced.
        wait_fault(d, "onvif_reply_too_complex", before["onvif_reply_too_complex"])
        proxy.set_reply(huge_reply(TIB))
        wait_fault(d, "onvif_reply_too_large", before["onvif_reply_too_large"])
        assert d.proc.poll() is None
        # That camera's subscription failed with the reason, each time.
        wait_log(d, rf"events {re.escape(cam_id)}: subscription failed, re-subscribing: "
                    r"PullMessages: malformed SOAP: XML refused before parsing: more than 64 "
                    r"attributes on one element")
        wait_log(d, rf"events {re.escape(cam_id)}: subscription failed, re-subscribing: "
                    rf"PullMessages: camera at 127\.0\.0\.1:{proxy.port} declared a reply of "
                    rf"{TIB} bytes")
        # The camera itself stays supervised; the API answers.
        one = requests.get(d.url(f"/api/v1/cameras/{cam_id}"), headers=h, timeout=10)
        assert one.status_code == 200, one.text
        watch.finish()
        proxy.close()


def test_notify_announcing_a_tebibyte_is_refused(make_daemon):
    d = start(make_daemon)
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(b"POST /onvif/notify/" + b"0" * 64 + b" HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/soap+xml\r\nContent-Length: " + str(TIB).encode() +
              b"\r\n\r\n<s:Envelope>" + b"a" * 3000)
    answer = b""
    while b"\r\n" not in answer:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
    s.close()
    status = int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    assert 400 <= status < 500, answer[:200]
    assert requests.get(d.url("/healthz"), timeout=5).status_code == 200
    assert d.proc.poll() is None
