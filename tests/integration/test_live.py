"""Live view (issue 19) with the real zaulekd, the real simulator and real
consumers: a WebSocket viewer of /api/v1/cameras/{id}/live gets the init
message, the fMP4 init segment and media segments from the recorder's own
pull (no second RTSP session); the bytes, written to a file, are read by
ffprobe, decoded by ffmpeg and by a GStreamer pipeline (every frame, no
decode error), for H.264 and H.265 (hvc1), with and without B-frames.
Access follows /api/v1/ws (every role, visibility: 404). Hostile viewers
(never reading, closing mid-fragment, churning) stay bounded and do not
change what is recorded."""
import json
import re
import socket
import time

import pytest
import requests
import websocket

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns, wait_log
from media_probe import ffmpeg_decode, ffprobe_packets, gst_decoded_frames
from simfleet import SimFleet
from zaulekd_fixture import wait_until

enter_netns()

USER = "liveadmin"
PASSWORD = "Live-Secret-5e02a1"
FPS = 25
CONFIG = FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n[recording]\nsegment_seconds = 5\n"


def add_sim_camera(d, h, cam):
    r, _ = add_camera(d, h, cam["onvif_url"], USER, PASSWORD)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def wait_recording(d, h, cid):
    def recording():
        r = requests.get(d.url(f"/api/v1/cameras/{cid}"), headers=h, timeout=10).json()
        return r["recording"]["state"] == "recording" and r["recording"]["frames"] > FPS
    wait_until(f"{cid} recording", recording, 60, step=0.2, detail=lambda: d.stderr()[-3000:])


def token(d, user):
    return d.login(user)["token"]


def live_url(d, cid, stream=None):
    q = f"?stream={stream}" if stream else ""
    return f"ws://127.0.0.1:{d.port}/api/v1/cameras/{cid}/live{q}"


def connect(d, token, cid, stream=None):
    return websocket.create_connection(live_url(d, cid, stream), timeout=10,
                                       header=["Authorization: Bearer " + token])


def receive(ws, fragments):
    """init JSON, init segment and `fragments` media segments; also the
    control texts seen and the time from the upgrade to the first media."""
    t0 = time.monotonic()
    first = None
    init = json.loads(ws.recv())
    assert init["type"] == "init", init
    op, moov = ws.recv_data()
    assert op == websocket.ABNF.OPCODE_BINARY
    assert moov[4:8] == b"ftyp" and b"moov" in moov[:4096]
    media, texts = [], []
    for _ in range(fragments * 3):  # bounded: control messages in between
        if len(media) >= fragments:
            break
        op, data = ws.recv_data()
        if op == websocket.ABNF.OPCODE_TEXT:
            texts.append(json.loads(data))
            continue
        if first is None:
            first = time.monotonic() - t0
        assert data[4:8] == b"moof", data[:16]
        media.append(data)
    assert len(media) == fragments, (len(media), texts)
    return init, moov, media, texts, first


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_live_plays_in_real_decoders(make_daemon, tmp_path, codec):
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    # Camera 0 with B-frames (b-pyramid), camera 1 without.
    with SimFleet(cameras=2, user=USER, password=PASSWORD, h265=(codec == "h265"),
                  extra_args=["--bframes", "0"]) as sim:
        ids = [add_sim_camera(d, h, c) for c in sim.cameras]
        for cid in ids:
            wait_recording(d, h, cid)
        for cid, bframes in zip(ids, (True, False)):
            ws = connect(d, token(d, "olga"), cid)
            try:
                init, moov, media, _, first = receive(ws, 3 * FPS)
            finally:
                ws.close()
            print(f"{codec} b={bframes}: init {init}, first media {first * 1000:.1f} ms "
                  f"after the upgrade, init segment {len(moov)} B")
            prefix = "avc1." if codec == "h264" else "hvc1."
            assert init["codec"].startswith(prefix), init
            assert init["stream"] == "main"
            path = tmp_path / f"{cid}.mp4"
            path.write_bytes(moov + b"".join(media))
            stream, packets = ffprobe_packets(path)
            assert stream["codec_name"] == {"h264": "h264", "h265": "hevc"}[codec], stream
            assert stream["codec_tag_string"] == prefix[:-1], stream
            assert (stream["width"], stream["height"]) == (init["width"], init["height"])
            assert len(packets) == len(media), "one access unit per media segment"
            assert packets[0]["flags"].startswith("K"), "the first segment starts at a keyframe"
            dts = [int(p["dts"]) for p in packets]
            pts = [int(p["pts"]) for p in packets]
            assert all(b > a for a, b in zip(dts, dts[1:])), "decode times increase"
            assert all(dd <= pp for dd, pp in zip(dts, pts)), "never decoded after shown"
            assert (pts != sorted(pts)) == bframes, "B-frames: shown out of decode order"
            assert (stream.get("has_b_frames", 0) > 0) == bframes or not bframes
            rc, errors = ffmpeg_decode(path)
            assert rc == 0 and errors == "", errors
            # The last B-frames may wait for a reference that is not in the file.
            frames = gst_decoded_frames(path, codec)
            assert len(media) - 4 <= frames <= len(media), (frames, len(media))
        metrics = requests.get(d.url("/metrics"), timeout=10).text
        cpu = metric(d, "zaulek_live_mux_cpu_seconds_total")
        made = metric(d, "zaulek_live_fragments_made_total")
        print(f"{codec}: {made:.0f} fragments muxed, {cpu * 1e6 / made:.1f} us CPU each")
        assert made >= 2 * 3 * FPS
        assert re.search(r"^zaulek_live_viewers_opened_total 2$", metrics, re.M), metrics


def test_live_from_the_gstreamer_ingest(make_daemon, tmp_path):
    """[recording] ingest = "gstreamer" (rtspsrc, the ingest UDP cameras use):
    the same feed, from its pull; B-frames and the sub stream included."""
    d = make_daemon(extra_toml=CONFIG.replace("[recording]\n",
                                              '[recording]\ningest = "gstreamer"\n'))
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD, extra_args=["--bframes", "0"]) as sim:
        cid = add_sim_camera(d, h, sim.cameras[0])
        wait_recording(d, h, cid)
        olga = token(d, "olga")
        for stream, size, bframes in (("main", (1920, 1080), True), ("sub", (640, 360), True)):
            ws = connect(d, olga, cid, stream)
            try:
                init, moov, media, _, first = receive(ws, 2 * FPS)
            finally:
                ws.close()
            print(f"gstreamer ingest, {stream}: init {init}, first media {first * 1000:.1f} ms")
            assert init["stream"] == stream and (init["width"], init["height"]) == size, init
            path = tmp_path / f"{stream}.mp4"
            path.write_bytes(moov + b"".join(media))
            info, packets = ffprobe_packets(path)
            assert (info["width"], info["height"]) == size
            assert len(packets) == len(media)
            assert packets[0]["flags"].startswith("K")
            dts = [int(p["dts"]) for p in packets]
            pts = [int(p["pts"]) for p in packets]
            assert all(b > a for a, b in zip(dts, dts[1:])), "decode times increase"
            assert all(dd <= pp for dd, pp in zip(dts, pts))
            assert (pts != sorted(pts)) == bframes
            rc, errors = ffmpeg_decode(path)
            assert rc == 0 and errors == "", errors
        assert sim.list_cameras()[0]["rtsp_clients"] == 2  # main, and sub until the linger


def test_live_access_and_bad_input(make_daemon):
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        a, b = (add_sim_camera(d, h, c) for c in sim.cameras)
        wait_recording(d, h, a)
        # Every role watches.
        for user in ("olga", "adam", "iwona"):
            ws = connect(d, token(d, user), a)
            init, _, media, _, _ = receive(ws, 2)
            ws.close()
        # The console's messages mean nothing here: no hub stream to resume.
        ws = connect(d, token(d, "olga"), a)
        json.loads(ws.recv())
        ws.send(json.dumps({"type": "resume", "after": 0}))
        ws.send(json.dumps({"type": "ping"}))
        texts = []
        for _ in range(200):  # bounded: media segments in between
            op, data = ws.recv_data()
            if op == websocket.ABNF.OPCODE_TEXT:
                texts.append(json.loads(data))
                if texts[-1]["type"] == "pong":
                    break
        ws.close()
        assert [t["type"] for t in texts] == ["error", "pong"], texts
        # sub: the simulator's sub profile, pulled for the viewer.
        ws = connect(d, token(d, "olga"), a, "sub")
        init, _, _, _, _ = receive(ws, 1)
        ws.close()
        assert init["stream"] == "sub", init

        def status(path, token=None, upgrade=True):
            headers = {}
            if token:
                headers["Authorization"] = "Bearer " + token
            if upgrade:
                headers.update({"Connection": "Upgrade", "Upgrade": "websocket",
                                "Sec-WebSocket-Version": "13",
                                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
            r = requests.get(d.url(path), headers=headers, timeout=10)
            return r.status_code, (r.json() if r.headers.get("content-type", "").startswith(
                "application/json") else r.text)

        olga = token(d, "olga")
        assert status(f"/api/v1/cameras/{a}/live")[0] == 401
        assert status("/api/v1/cameras/nope/live", olga)[0] == 404
        code, body = status(f"/api/v1/cameras/{a}/live?stream=third", olga)
        assert code == 400 and "'stream'" in body["error"]["message"], body
        assert status(f"/api/v1/cameras/{a}/live", olga, upgrade=False)[0] == 426
        # A user restricted to camera b does not see a: 404 as for no camera.
        r = requests.post(d.url("/api/v1/users"), headers=h, timeout=10,
                          json={"name": "rita", "password": "password-rita-4d2",
                                "role": "operator"})
        assert r.status_code == 201, r.text
        r = requests.patch(d.url(f"/api/v1/users/{r.json()['id']}"), headers=h, timeout=10,
                           json={"cameras": [b]})
        assert r.status_code == 200, r.text
        rita = d.login("rita", "password-rita-4d2")["token"]
        assert status(f"/api/v1/cameras/{a}/live", rita)[0] == 404
        ws = connect(d, rita, b)
        receive(ws, 1)
        ws.close()
        # Recording off: nothing pulls the stream; a viewer is told so.
        r = requests.patch(d.url(f"/api/v1/cameras/{a}"), headers=h,
                           json={"recording": {"mode": "off"}}, timeout=10)
        assert r.status_code == 200, r.text
        wait_until("no feed", lambda: status(f"/api/v1/cameras/{a}/live", olga)[0] == 409, 30)


def closed_segments(d):
    import sqlite3
    db = sqlite3.connect(f"file:{d.dir / 'storage' / 'zaulek.db'}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT camera_id, path, start_ns, end_ns FROM segments "
                          "WHERE state = 'closed'").fetchall()
    finally:
        db.close()


def test_live_sub_stream_pulled_while_watched(make_daemon, tmp_path):
    """stream=sub: the camera's sub stream is pulled (one more RTSP session,
    however many watch it) while someone watches and a linger after; viewers
    churning within the linger do not reconnect; the recording of main is
    unchanged; a camera without a sub stream is served from main and says so."""
    d = make_daemon(extra_toml=CONFIG.replace("[recording]\n", "[recording]\nsub_linger_s = 5\n"))
    h = admin_headers(d)
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        a, b = (add_sim_camera(d, h, c) for c in sim.cameras)
        wait_recording(d, h, a)
        wait_recording(d, h, b)

        def clients(i):
            return sim.list_cameras()[i]["rtsp_clients"]
        assert clients(0) == 1 and clients(1) == 1  # the recorders' main pulls
        olga = token(d, "olga")
        ws1 = connect(d, olga, a, "sub")
        init, moov, media, _, first = receive(ws1, 2 * FPS)
        assert init["stream"] == "sub", init
        assert (init["width"], init["height"]) == (640, 360), init
        assert init["codec"].startswith("avc1."), init
        ws2 = connect(d, olga, a, "sub")
        receive(ws2, 2)
        assert clients(0) == 2, "one sub session for two viewers"
        print(f"sub: first media segment {first * 1000:.1f} ms after the upgrade "
              "(pull started for this viewer)")
        path = tmp_path / "sub.mp4"
        path.write_bytes(moov + b"".join(media))
        stream, packets = ffprobe_packets(path)
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 640, 360)
        assert len(packets) == len(media)
        rc, errors = ffmpeg_decode(path)
        assert rc == 0 and errors == "", errors
        # Churn within the linger: the same pull serves each new viewer.
        for _ in range(20):  # bounded
            ws1.close()
            ws2.close()
            ws1, ws2 = connect(d, olga, a, "sub"), connect(d, olga, a, "sub")
            receive(ws1, 1)
            receive(ws2, 1)
        assert metric(d, "zaulek_live_sub_pulls_started_total") == 1
        assert clients(0) == 2
        # Main viewers next to them: still the recorder's pull.
        ws3 = connect(d, olga, a)
        init3, _, _, _, _ = receive(ws3, 2)
        assert init3["stream"] == "main" and init3["width"] == 1920, init3
        assert clients(0) == 2
        ws1.close()
        ws2.close()
        ws3.close()
        # The linger passes: the sub session ends, main records on.
        wait_until("sub pull stopped", lambda: clients(0) == 1, 60, step=0.2)
        assert metric(d, "zaulek_live_sub_pulls") == 0
        wait_log(d, "sub stream unwatched for 5000 ms; its pull stops")
        # A camera without a sub stream (a profile the probe did not find):
        # served from main, and the init message says so; no second session.
        import sqlite3
        db = sqlite3.connect(str(d.dir / "storage" / "zaulek.db"), timeout=10)
        with db:
            db.execute("DELETE FROM streams WHERE camera_id = ? AND kind = 'sub'", (b,))
        db.close()
        ws = connect(d, olga, b, "sub")
        init_b, _, _, _, _ = receive(ws, 2)
        ws.close()
        assert init_b["stream"] == "main" and init_b["width"] == 1920, init_b
        assert clients(1) == 1
        # What camera a recorded while its sub viewers came and went: every
        # closed segment has the frames its duration says.
        wait_until("two closed segments", lambda: len(
            [r for r in closed_segments(d) if r[0] == a]) >= 2, 60, step=0.2)
        r = requests.patch(d.url(f"/api/v1/cameras/{a}"), headers=h,
                           json={"recording": {"mode": "off"}}, timeout=10)
        assert r.status_code == 200

        def settled():
            return not list((d.dir / "storage" / a).glob("*.part"))
        wait_until("segments closed", settled, 30, step=0.2)
        mine = [r for r in closed_segments(d) if r[0] == a]
        assert len(mine) >= 2, mine
        for _, seg, start, end in mine:
            frames = len(ffprobe_packets(d.dir / "storage" / seg)[1])
            expect = (end - start) / 1e9 * FPS
            print(f"{a} {seg}: {frames} frames, {expect:.1f} by its duration")
            assert abs(frames - expect) <= 1, (seg, frames, expect)


def close_frame(ws, limit_s=20):
    """Reads past media until the server's close frame: (code, reason)."""
    deadline = time.monotonic() + limit_s
    ws.settimeout(2)
    while time.monotonic() < deadline:
        try:
            op, data = ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            continue
        if op == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big"), data[2:].decode()
    raise AssertionError(f"not closed within {limit_s} s")


def test_live_viewers_end_with_their_session(make_daemon):
    """A live socket takes no hub messages, yet it ends with its login
    session like a console: at logout (only that token's) and when the
    user is disabled (docs/events.md's close reasons)."""
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        a = add_sim_camera(d, h, sim.cameras[0])
        wait_recording(d, h, a)
        first, second = token(d, "olga"), token(d, "olga")
        ws1, ws2 = connect(d, first, a), connect(d, second, a)
        receive(ws1, 1)
        receive(ws2, 1)
        r = requests.post(d.url("/api/v1/auth/logout"),
                          headers={"Authorization": "Bearer " + first}, timeout=10)
        assert r.status_code in (200, 204), r.text
        assert close_frame(ws1) == (1008, "logged out")
        media = 0  # the other token's viewer goes on
        for _ in range(30):  # bounded: control messages in between
            op, data = ws2.recv_data()
            media += op == websocket.ABNF.OPCODE_BINARY and data[4:8] == b"moof"
            if media >= 2:
                break
        assert media >= 2, media
        users = requests.get(d.url("/api/v1/users"), headers=h, timeout=10).json()["users"]
        olga = next(u["id"] for u in users if u["name"] == "olga")
        r = requests.patch(d.url(f"/api/v1/users/{olga}"), headers=h, json={"disabled": True},
                           timeout=10)
        assert r.status_code == 200, r.text
        assert close_frame(ws2) == (1008, "account disabled")
        ws1.close()
        ws2.close()


def test_live_stall_resume_and_reconnect(make_daemon, tmp_path):
    """The camera pauses: stall, then resumed; the camera drops the RTSP
    session: the recorder reconnects and the same viewer's stream goes on,
    decode times still increasing, every byte still decodable."""
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        cid = add_sim_camera(d, h, sim.cameras[0])
        wait_recording(d, h, cid)
        ws = connect(d, token(d, "olga"), cid)
        try:
            init, moov, media, _, _ = receive(ws, FPS)
            sim.set_faults(0, rtsp_stall_ms=4000)
            texts = []
            for _ in range(10 * FPS):  # bounded: the frames before the pause
                op, data = ws.recv_data()
                if op == websocket.ABNF.OPCODE_TEXT:
                    texts.append(json.loads(data)["type"])
                    if texts[-1] == "resumed":
                        break
                else:
                    media.append(data)
            assert texts == ["stall", "resumed"], texts
            sim.set_faults(0, rtsp_drop=True)
            more = 0
            for _ in range(20 * FPS):  # bounded: until 4 s of frames after the drop
                op, data = ws.recv_data()
                if op == websocket.ABNF.OPCODE_TEXT:
                    texts.append(json.loads(data)["type"])
                    continue
                media.append(data)
                more += 1
                if more >= 4 * FPS:
                    break
        finally:
            ws.close()
        assert "init" not in texts, "the same format continues without a new init"
        path = tmp_path / "reconnect.mp4"
        path.write_bytes(moov + b"".join(media))
        _, packets = ffprobe_packets(path)
        assert len(packets) == len(media)
        dts = [int(p["dts"]) for p in packets]
        assert all(b > a for a, b in zip(dts, dts[1:])), "decode times increase across it"
        rc, errors = ffmpeg_decode(path)
        assert rc == 0 and errors == "", errors
        restarts = requests.get(d.url(f"/api/v1/cameras/{cid}"), headers=h,
                                timeout=10).json()["recording"]["restarts"]
        fixes = metric(d, "zaulek_live_timestamp_fixes_total")
        print(f"{len(media)} media segments over a pause and {restarts} reconnect(s); "
              f"{fixes:.0f} composition offsets past 16 frames replaced")
        # The recorder's time line gives the frames after the pause ordinary
        # composition offsets (once it gave the first ones the whole pause).
        assert fixes == 0, fixes


def raw_upgrade(d, token, cid, rcvbuf=None):
    """A WebSocket upgrade on a bare socket (the viewer reads only what the test says)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect(("127.0.0.1", d.port))
    s.sendall((f"GET /api/v1/cameras/{cid}/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 8192:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def metric(d, name):
    m = re.search(rf"^{name} (\S+)$", requests.get(d.url("/metrics"), timeout=10).text, re.M)
    return float(m.group(1)) if m else None


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def test_hostile_viewers_are_bounded_and_recording_unchanged(make_daemon):
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        watched, quiet = (add_sim_camera(d, h, c) for c in sim.cameras)
        for cid in (watched, quiet):
            wait_recording(d, h, cid)
        tok = token(d, "olga")
        # Viewers that never read (a small receive window): their queues fill,
        # they skip to keyframes, the stream and the others go on.
        stuck = [raw_upgrade(d, tok, watched, rcvbuf=4096) for _ in range(5)]
        wait_until("a slow viewer skipped", lambda: (metric(d, "zaulek_live_skips_total") or 0) > 0,
                   60, step=0.2)
        rss_before = rss_kb(d.proc.pid)
        # Churn: 60 viewers that read part of a fragment and close, 20 at a time.
        for round_ in range(3):
            socks = [raw_upgrade(d, tok, watched) for _ in range(20)]
            for s in socks:
                got = 0
                while got < 3000:  # the init and part of the first media segment
                    chunk = s.recv(3000 - got)
                    assert chunk, "closed by the server"
                    got += len(chunk)
                s.close()
        # A reading viewer meanwhile gets a whole picture stream.
        ws = connect(d, tok, watched)
        _, _, media, _, _ = receive(ws, 2 * FPS)
        ws.close()
        assert len(media) == 2 * FPS
        # Memory stays bounded however long the stuck viewers stay (their
        # queues hold at most a few seconds of fragments each).
        skips = metric(d, "zaulek_live_skips_total")
        wait_until("more skips", lambda: metric(d, "zaulek_live_skips_total") > skips, 60, step=0.2)
        rss_after = rss_kb(d.proc.pid)
        print(f"rss {rss_before} -> {rss_after} kB, skips {metric(d, 'zaulek_live_skips_total')}")
        assert rss_after - rss_before < 64 * 1024, (rss_before, rss_after)
        import sqlite3
        db_path = d.dir / "storage" / "zaulek.db"

        def closed():
            db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
            try:
                return db.execute("SELECT camera_id, path, start_ns, end_ns FROM segments "
                                  "WHERE state = 'closed'").fetchall()
            finally:
                db.close()

        def two_each():
            rows = closed()
            return all(len([r for r in rows if r[0] == c]) >= 2 for c in (watched, quiet))
        # Whole segments written while the stuck viewers hang on.
        wait_until("two closed segments per camera", two_each, 60, step=0.2)
        for s in stuck:
            s.close()
        wait_until("viewers gone", lambda: metric(d, "zaulek_live_viewers") == 0, 30, step=0.2)
        # What was recorded: every segment of both cameras has the frames its
        # duration says (25 fps), watched or not.
        for cid in (watched, quiet):
            r = requests.patch(d.url(f"/api/v1/cameras/{cid}"), headers=h,
                               json={"recording": {"mode": "off"}}, timeout=10)
            assert r.status_code == 200

        def settled():
            parts = list((d.dir / "storage").glob("*/*.part"))
            return closed() if not parts else None
        rows = wait_until("segments closed", settled, 30, step=0.2)
        for cid in (watched, quiet):
            mine = [r for r in rows if r[0] == cid]
            assert len(mine) >= 2, rows
            for _, path, start, end in mine:
                frames = len(ffprobe_packets(d.dir / "storage" / path)[1])
                expect = (end - start) / 1e9 * FPS
                print(f"{cid} {path}: {frames} frames, {expect:.1f} by its duration")
                assert abs(frames - expect) <= 1, (cid, path, frames, expect)
        wait_log(d, "too slow; skipped to the next keyframe")


# A real browser: the console's origin (session cookie, same-origin
# WebSocket), a MediaSource fed with the bytes as they come, a <video> that
# plays: its currentTime advances.
PLAY_JS = r"""
const [cameraId, done] = [arguments[0], arguments[arguments.length - 1]];
const result = {codec: null, appended: 0, times: [], error: null};
const video = document.createElement('video');
video.muted = true;
video.autoplay = true;
document.body.appendChild(video);
const ms = new MediaSource();
video.src = URL.createObjectURL(ms);
let sb = null;
const pending = [];
function pump() {
  if (sb && !sb.updating && pending.length) {
    sb.appendBuffer(pending.shift());
    result.appended++;
  }
}
ms.addEventListener('sourceopen', () => {
  const ws = new WebSocket(`ws://${location.host}/api/v1/cameras/${cameraId}/live`);
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (m) => {
    if (typeof m.data === 'string') {
      const j = JSON.parse(m.data);
      if (j.type === 'init' && !sb) {
        result.codec = j.codec;
        const type = `video/mp4; codecs="${j.codec}"`;
        if (!MediaSource.isTypeSupported(type)) { result.error = 'unsupported ' + type; return; }
        sb = ms.addSourceBuffer(type);
        sb.mode = 'segments';
        sb.addEventListener('updateend', () => {
          // A live stream starts where its first fragment is: go there.
          if (sb.buffered.length && video.currentTime < sb.buffered.start(0))
            video.currentTime = sb.buffered.start(0);
          pump();
        });
      }
      return;
    }
    pending.push(m.data);
    pump();
  };
  ws.onerror = () => { result.error = 'websocket error'; };
  // Until the picture has played 2 s (a positive signal), bounded by 20 s.
  const start = Date.now();
  let first = null;
  const tick = setInterval(() => {
    result.times.push(video.currentTime);
    if (first === null && video.currentTime > 0) first = video.currentTime;
    if (video.error) result.error = 'video error ' + video.error.code + ' ' + video.error.message;
    const played = first !== null && video.currentTime - first >= 2;
    if (result.error || played || Date.now() - start > 20000) {
      clearInterval(tick);
      ws.close();
      done(result);
    }
  }, 100);
});
"""


def test_live_plays_in_chromium(make_daemon, tmp_path):
    from console_browser import browser, login  # the same headless Chromium as the console's tests

    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        cid = add_sim_camera(d, h, sim.cameras[0])
        wait_recording(d, h, cid)
        drv = browser(tmp_path)
        try:
            drv.set_script_timeout(30)
            drv.get(d.url("/"))
            login(drv, "olga", d.passwords["olga"])
            result = drv.execute_async_script(PLAY_JS, cid)
            log = "\n".join(e["message"] for e in drv.get_log("browser"))
        finally:
            drv.quit()
        print("chromium:", result, log[-2000:])
        assert result["error"] is None, (result, log[-2000:])
        assert result["codec"].startswith("avc1."), result
        assert result["appended"] > FPS, result
        times = [t for t in result["times"] if t > 0]
        assert times and times[-1] - times[0] >= 2, result["times"]
