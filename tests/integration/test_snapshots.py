"""GET /api/v1/cameras/{id}/snapshot.jpg against the real zaulekd and the real
simulator (ONVIF GetSnapshotUri, the JPEG behind HTTP Digest): a JPEG that
GStreamer decodes and ffprobe measures, for every role; camera visibility
(404 like an unknown camera); one fetch for a burst of concurrent requests
and one second of cache, seen in the simulator's count of JPEGs served and in
/metrics; wrong camera credentials answered 502 with the camera's failure in
words and nothing of the credentials in the reply or the log; a hostile
picture server on loopback (an endless body, a 1 TiB Content-Length, garbage,
HTML, silence) bounded in size and time while /healthz keeps answering."""
import json
import re
import socket
import subprocess
import threading
import time

import requests

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns
from simfleet import SimFleet
from zaulekd_fixture import wait_until

enter_netns()

USER = "snapadmin"
PASSWORD = "Snap-Secret-81c2e4"
TIB = 1 << 40


def start(make_daemon, onvif_timeout_ms=1000):
    toml = FAST_CAMERAS_TOML.replace("onvif_timeout_ms = 1000",
                                     f"onvif_timeout_ms = {onvif_timeout_ms}")
    return make_daemon(extra_toml=toml + "\n[discovery]\ninterfaces = []\n")


def add(d, h, cam):
    r, _ = add_camera(d, h, cam["onvif_url"], USER, PASSWORD,
                      recording={"mode": "off", "retention_days": 30})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def snapshot(d, headers, camera_id, timeout=30):
    return requests.get(d.url(f"/api/v1/cameras/{camera_id}/snapshot.jpg"), headers=headers,
                        timeout=timeout)


def served(sim, index):
    """JPEGs the simulated camera has served (its control API)."""
    status, body = sim.request("GET", "/sim/cameras")
    assert status == 200, body
    return body["cameras"][index]["snapshots"]


def fetches(d, result):
    text = requests.get(d.url("/metrics"), timeout=10).text
    m = re.search(rf'^zaulek_snapshot_fetches_total{{result="{result}"}} (\d+)$', text, re.M)
    assert m, f"zaulek_snapshot_fetches_total{{result={result}}} not in /metrics"
    return int(m.group(1))


def decode(tmp_path, body, name="snap.jpg"):
    """(width, height) as ffprobe reads them, after GStreamer decoded it."""
    f = tmp_path / name
    f.write_bytes(body)
    dec = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={f}", "!", "jpegdec",
                          "!", "fakesink"], capture_output=True, text=True, timeout=60)
    assert dec.returncode == 0, dec.stderr
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                            "stream=codec_name,width,height", "-of", "json", str(f)],
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    s = json.loads(probe.stdout)["streams"][0]
    assert s["codec_name"] == "mjpeg", s
    return s["width"], s["height"]


def test_snapshot_for_every_role_and_visibility(make_daemon, tmp_path):
    d = start(make_daemon)
    admin = admin_headers(d)
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        cam_a, cam_b = add(d, admin, sim.cameras[0]), add(d, admin, sim.cameras[1])
        for user in ("olga", "adam", "iwona"):
            r = snapshot(d, d.bearer(user), cam_a)
            assert r.status_code == 200, r.text
            assert r.headers["Content-Type"] == "image/jpeg"
            assert r.headers["Cache-Control"] == "no-store"
            assert USER.encode() not in r.content and PASSWORD.encode() not in r.content
        assert decode(tmp_path, r.content) == (640, 360)

        # Without credentials: 401; an unknown camera: 404.
        assert snapshot(d, {}, cam_a).status_code == 401
        unknown = snapshot(d, admin, "cam-nope")
        assert unknown.status_code == 404, unknown.text

        # An operator restricted to camera A: B is 404 exactly like an unknown camera.
        r = requests.post(d.url("/api/v1/users"), headers=admin, timeout=10,
                          json={"name": "rita", "password": "rita-pw-5521x", "role": "operator"})
        assert r.status_code == 201, r.text
        r = requests.patch(d.url(f"/api/v1/users/{r.json()['id']}"), headers=admin, timeout=10,
                           json={"cameras": [cam_a]})
        assert r.status_code == 200, r.text
        d.passwords["rita"] = "rita-pw-5521x"
        rita = d.bearer("rita")
        assert snapshot(d, rita, cam_a).status_code == 200
        hidden = snapshot(d, rita, cam_b)
        assert hidden.status_code == 404, hidden.text
        assert (hidden.json()["error"]["message"] ==
                snapshot(d, rita, "cam-nope").json()["error"]["message"].replace("cam-nope", cam_b))
        assert snapshot(d, admin, cam_b).status_code == 200
    d.stop()
    assert PASSWORD not in d.stderr()


def test_concurrent_requests_share_one_fetch_and_a_second_of_cache(make_daemon):
    # The first fetch asks the camera for its URI (three SOAP calls) before
    # the GET: four answers 1.5 s late each fit in 10 s.
    d = start(make_daemon, onvif_timeout_ms=10000)
    admin = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        cam = add(d, admin, sim.cameras[0])
        tokens = [d.bearer(u) for u in ("olga", "adam", "iwona")]
        # The camera answers 1.5 s late: eight consoles asking together are
        # all waiting on the one fetch.
        sim.set_faults(0, soap_delay_ms=1500)
        before_served, before_ok = served(sim, 0), fetches(d, "ok")
        barrier = threading.Barrier(8)
        replies = [None] * 8

        def ask(i):
            barrier.wait(timeout=30)
            replies[i] = snapshot(d, tokens[i % 3], cam)
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert all(r is not None and r.status_code == 200 for r in replies), \
            [r.status_code if r is not None else None for r in replies]
        assert len({r.content for r in replies}) == 1
        assert served(sim, 0) - before_served == 1
        assert fetches(d, "ok") - before_ok == 1

        # Once the second is over, the next request fetches anew (and the
        # simulator's picture has moved on).
        sim.set_faults(0, soap_delay_ms=0)
        first = replies[0].content
        newer = wait_until("a new fetch after the cached second",
                           lambda: (lambda r: r.content if r.status_code == 200 and
                                    r.content != first else None)(snapshot(d, admin, cam)),
                           limit_s=20, step=0.2)
        assert newer != first
        assert served(sim, 0) - before_served >= 2
    d.stop()


def test_wrong_camera_credentials_are_502_in_words(make_daemon):
    d = start(make_daemon)
    admin = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        cam = add(d, admin, sim.cameras[0])
        sim.set_faults(0, wrong_password=True)
        r = snapshot(d, admin, cam)
        assert r.status_code == 502, r.text
        err = r.json()["error"]
        assert err["code"] == "camera_unauthorized", err
        assert err["message"].startswith(f"snapshot of camera {cam}: "), err
        assert "refused the credentials" in err["message"], err
        assert USER not in r.text and PASSWORD not in r.text
        assert served(sim, 0) == 0
        # Credentials right again: a picture once the failure's second is over.
        sim.set_faults(0, wrong_password=False)
        wait_until("a snapshot again", lambda: snapshot(d, admin, cam).status_code == 200,
                   limit_s=20, step=0.2)
    d.stop()
    log = d.stderr()
    assert re.search(rf"snapshot: camera {re.escape(cam)}: .*refused the credentials", log)
    assert PASSWORD not in log


class HostilePictures:
    """A raw HTTP server on 127.0.0.1 that answers every request by `mode`:
    endless (200 without Content-Length, bytes until the peer leaves), huge
    (Content-Length: 1 TiB and a few body bytes in the same segment), garbage
    (not HTTP), html (a 200 login page), silent (reads, never answers; held
    until stop())."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.mode = "html"
        self.accepted = 0
        self.sent_endless = 0  # bytes of the longest endless body written
        self.stopping = threading.Event()
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self):
        return f"http://127.0.0.1:{self.port}/snap.jpg"

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self.conns.append(conn)
            threading.Thread(target=self._answer, args=(conn, self.mode), daemon=True).start()

    def _answer(self, conn, mode):
        try:
            conn.settimeout(10)
            conn.recv(65536)
            if mode == "silent":
                self.stopping.wait(60)
            elif mode == "html":
                body = b"<html><body>login</body></html>"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " +
                             str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
            elif mode == "garbage":
                conn.sendall(b"\x00\x01garbage that is not HTTP\r\n\r\n")
            elif mode == "huge":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                             str(TIB).encode() + b"\r\n\r\n\xff\xd8\xff" + b"a" * 3000)
                self.stopping.wait(5)
            elif mode == "endless":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                             b"Connection: close\r\n\r\n\xff\xd8\xff")
                chunk = b"\xab" * 65536
                sent = 0
                # Bounded on our side too: 64 MiB, then stop.
                while sent < (64 << 20) and not self.stopping.is_set():
                    conn.sendall(chunk)
                    sent += len(chunk)
                    self.sent_endless = max(self.sent_endless, sent)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping.set()
        self.sock.close()
        self.thread.join(5)


def test_hostile_picture_server_is_bounded(make_daemon):
    d = start(make_daemon, onvif_timeout_ms=3000)
    admin = admin_headers(d)
    hostile = HostilePictures()
    try:
        with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
            # The camera names the hostile server as its snapshot URI (same
            # host, another port) from the start.
            sim.set_faults(0, snapshot_uri=hostile.url())
            cam = add(d, admin, sim.cameras[0])
            faults_before = camera_fault(d, "onvif_reply_too_large")

            # Silence: three consoles wait on one fetch; /healthz and the
            # camera list answer while it is held (the HTTP workers are
            # free); the consoles get 502 camera_timeout at the deadline.
            hostile.mode = "silent"
            results = []
            threads = [threading.Thread(target=lambda: results.append(snapshot(d, admin, cam)))
                       for _ in range(3)]
            for t in threads:
                t.start()
            wait_until("the fetch held by the silent server", lambda: hostile.accepted, 30)
            health = requests.get(d.url("/healthz"), timeout=10)
            listed = requests.get(d.url("/api/v1/cameras"), headers=admin, timeout=10)
            answered_first = not results
            for t in threads:
                t.join(30)
            assert health.status_code == 200 and listed.status_code == 200
            assert answered_first, "a snapshot reply came before /healthz's"
            assert [r.status_code for r in results] == [502] * 3, [r.text for r in results]
            for r in results:
                err = r.json()["error"]
                assert err["code"] == "camera_timeout", err
                assert "within 3000 ms" in err["message"], err
            assert hostile.accepted == 1  # one fetch for the three

            expect = {
                "html": ("camera_bad_reply", "is not a JPEG (31 bytes of 'text/html'"),
                "garbage": ("camera_bad_reply", "malformed HTTP"),
                "huge": ("camera_bad_reply", f"declared a snapshot of {TIB} bytes"),
                "endless": ("camera_bad_reply", f"larger than {4 << 20} bytes"),
            }
            for mode, (code, words) in expect.items():
                hostile.mode = mode
                seen = []

                def answered():
                    r = snapshot(d, admin, cam)
                    seen[:] = [r.status_code, r.text[:300]]
                    return (r.status_code == 502 and r.json()["error"]["code"] == code and
                            words in r.json()["error"]["message"])
                # Bounded; the first answers may be the last mode's, cached
                # for a second.
                wait_until(f"the {mode} server's 502", answered, limit_s=30, step=0.2,
                           detail=lambda: seen)
                assert USER not in seen[1] and PASSWORD not in seen[1]
            assert camera_fault(d, "onvif_reply_too_large") >= faults_before + 2
            # The endless body was cut: zaulekd stopped reading at 4 MiB.
            assert hostile.sent_endless < (64 << 20)
            assert requests.get(d.url("/healthz"), timeout=10).status_code == 200
            assert d.proc.poll() is None

            # SIGTERM while a console waits on a silent camera: it is told
            # 503 at once and the daemon stops cleanly.
            hostile.mode = "silent"
            accepted = hostile.accepted
            pending = []

            def ask_until_held():
                # Polled like wait_until (bounded, paced): the first answers
                # are the endless server's 502, cached for a second.
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    r = snapshot(d, admin, cam)
                    pending.append(r)
                    if r.status_code != 502:
                        return
                    time.sleep(0.1)
            asker = threading.Thread(target=ask_until_held)
            asker.start()
            wait_until("a fetch held by the silent server",
                       lambda: hostile.accepted > accepted, 30,
                       detail=lambda: [(r.status_code, r.text[:200]) for r in pending[-3:]])
            code, _ = d.stop()
            asker.join(30)
            assert code == 0
            assert pending[-1].status_code == 503, pending[-1].text
            assert pending[-1].json()["error"]["message"] == "server shutting down"
    finally:
        hostile.stop()
    d.stop()
    assert PASSWORD not in d.stderr()


def camera_fault(d, kind):
    text = requests.get(d.url("/metrics"), timeout=10).text
    m = re.search(rf'^zaulek_camera_faults_total{{kind="{kind}"}} (\d+)$', text, re.M)
    return int(m.group(1)) if m else 0
