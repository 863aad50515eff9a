"""Playback (issue 20) with the real zaulekd, the real simulator and real
consumers: a WebSocket of /api/v1/cameras/{id}/playback?from=T reads the
recorded TS segments back (closed ones and the one being written) and sends
the init message, the fMP4 init segment and media segments, paced at the
speed asked. The bytes, written to a file, are read by ffprobe and decoded
by ffmpeg and GStreamer (H.264 with B-frames, H.265). Playback starts at
the keyframe at or before T, crosses segment boundaries, says `gap` over a
stretch without footage (the camera down) and a kill -9 of zaulekd, reaches
the live edge and says `live`; seek, speed 4 and 8 (keyframes only),
pause/play; bad input gets errors, a client that never reads stays
bounded."""
import json
import re
import time
from datetime import datetime, timezone

import pytest
import requests
import websocket

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns
from media_probe import ffmpeg_decode, ffprobe_packets, gst_decoded_frames
from simfleet import SimFleet
from zaulekd_fixture import wait_until

enter_netns()

USER = "playadmin"
PASSWORD = "Play-Secret-77c1e0"
FPS = 25
GOP_S = 2
SEGMENT_S = 5
CONFIG = (FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n[recording]\n"
          f"segment_seconds = {SEGMENT_S}\n")


def iso(ns):
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def ns_of(text):
    t = datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    return round(t.timestamp() * 1000) * 1_000_000


def add_sim_camera(d, h, cam):
    r, _ = add_camera(d, h, cam["onvif_url"], USER, PASSWORD)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def timeline(d, h, cid):
    now = time.time_ns()
    r = requests.get(d.url(f"/api/v1/cameras/{cid}/recordings"), headers=h, timeout=10,
                     params={"from": iso(now - 3600 * 10**9), "to": iso(now + 60 * 10**9)})
    assert r.status_code == 200, r.text
    return r.json()


def wait_footage(d, h, cid, seconds):
    """Until the camera has `seconds` of footage in closed segments."""
    def enough():
        segs = storage_segments(d, cid)
        return segs if len(segs) >= seconds // SEGMENT_S + 1 else None
    return wait_until(f"{cid}: {seconds} s recorded", enough, 30 + 3 * seconds, step=0.25,
                      detail=lambda: d.stderr()[-3000:])


def storage_segments(d, cid):
    return sorted((d.dir / "storage" / cid).glob("*.ts"))


def start_of(path):
    """Wall time (ns) of a segment's first frame, from its file name."""
    stem = path.name[:-3].split("-")[0]
    t = datetime.strptime(stem, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=timezone.utc)
    return int(t.timestamp()) * 10**9 + t.microsecond * 1000


def url(d, cid, frm, speed=None):
    q = f"?from={iso(frm)}" + (f"&speed={speed}" if speed else "")
    return f"ws://127.0.0.1:{d.port}/api/v1/cameras/{cid}/playback{q}"


def connect(d, token, cid, frm, speed=None):
    return websocket.create_connection(url(d, cid, frm, speed), timeout=20,
                                       header=["Authorization: Bearer " + token])


class Reader:
    """Everything a playback socket sent, in order: texts and media."""

    def __init__(self, ws):
        self.ws = ws
        self.texts = []      # (index of the next media segment, message)
        self.inits = []      # (init message, init segment)
        self.media = []
        self.first_media_s = None
        self.t0 = time.monotonic()

    def read(self, until, limit_s=60, max_messages=20000):
        """Reads until until(self) holds; bounded in messages and time."""
        deadline = time.monotonic() + limit_s
        for _ in range(max_messages):
            if until(self):
                return self
            assert time.monotonic() < deadline, (len(self.media), self.texts[-5:])
            op, data = self.ws.recv_data()
            if op == websocket.ABNF.OPCODE_TEXT:
                msg = json.loads(data)
                if msg["type"] == "init":
                    self.inits.append([msg, None])
                else:
                    self.texts.append((len(self.media), msg))
            elif op == websocket.ABNF.OPCODE_BINARY:
                if self.inits and self.inits[-1][1] is None:
                    assert data[4:8] == b"ftyp", data[:16]
                    self.inits[-1][1] = data
                    continue
                assert data[4:8] == b"moof", data[:16]
                if self.first_media_s is None:
                    self.first_media_s = time.monotonic() - self.t0
                self.media.append(data)
            else:
                raise AssertionError(f"opcode {op}: {data[:100]}")
        raise AssertionError("too many messages")

    def of_type(self, kind):
        return [m for _, m in self.texts if m["type"] == kind]

    def write(self, path, media=None):
        assert len(self.inits) == 1, self.inits
        path.write_bytes(self.inits[0][1] + b"".join(self.media if media is None else media))
        return path


def check_decodes(path, codec, count, bframes):
    stream, packets = ffprobe_packets(path)
    assert stream["codec_name"] == {"h264": "h264", "h265": "hevc"}[codec], stream
    assert len(packets) == count, "one access unit per media segment"
    assert packets[0]["flags"].startswith("K"), "starts at a keyframe"
    dts = [float(p["dts_time"]) for p in packets]
    pts = [float(p["pts_time"]) for p in packets]
    assert all(b > a for a, b in zip(dts, dts[1:])), "decode times increase"
    assert (pts != sorted(pts)) == bframes, "B-frames: shown out of decode order"
    rc, errors = ffmpeg_decode(path)
    assert rc == 0 and errors == "", errors
    frames = gst_decoded_frames(path, codec)
    assert count - 4 <= frames <= count, (frames, count)
    return packets


@pytest.mark.parametrize("codec,bframes", [("h264", True), ("h265", False)])
def test_playback_decodes_from_the_keyframe_before_t(make_daemon, tmp_path, codec, bframes):
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    args = ["--bframes", "0"] if bframes else []
    with SimFleet(cameras=1, user=USER, password=PASSWORD, h265=(codec == "h265"),
                  extra_args=args) as sim:
        cid = add_sim_camera(d, h, sim.cameras[0])
        segs = wait_footage(d, h, cid, 3 * SEGMENT_S)
        first = start_of(segs[0])
        # Inside the first segment, between keyframes: 3.3 s after it starts.
        t = first + 3_300_000_000
        ws = connect(d, d.login("iwona")["token"], cid, t, speed=4)
        r = Reader(ws).read(lambda r: len(r.media) >= 6 * FPS)  # across the first boundary
        ws.close()
    init = r.inits[0][0]
    assert init["codec"].startswith("avc1." if codec == "h264" else "hvc1."), init
    assert init["camera_id"] == cid and (init["width"], init["height"]) == (1920, 1080)
    start = r.of_type("start")[0]
    assert r.texts[0][0] == 0, "start comes before the first media segment"
    assert ns_of(start["time"]) == t // 1_000_000 * 1_000_000
    key = ns_of(start["keyframe"])
    # The keyframe at or before T: 2 s GOPs from the segment's first frame.
    assert first + 2_000_000_000 - 50_000_000 <= key <= t, (iso(first), start)
    assert start["media_time"] == pytest.approx((t - key) / 1e9 + float(
        ffprobe_packets(r.write(tmp_path / "p0.mp4", r.media[:1]))[1][0]["pts_time"]), abs=0.05)
    assert start["speed"] == 4
    assert not r.of_type("gap"), r.texts
    path = r.write(tmp_path / f"play-{codec}.mp4")
    packets = check_decodes(path, codec, len(r.media), bframes)
    # Paced: media time of the last packet vs. wall time taken, at most 4x + the lead.
    span = float(packets[-1]["dts_time"]) - float(packets[0]["dts_time"])
    print(f"{codec}: first media segment {r.first_media_s * 1000:.1f} ms after the upgrade; "
          f"{len(r.media)} segments, {span:.2f} s of media")


def test_playback_over_a_gap_to_the_live_edge(make_daemon, tmp_path):
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        cid = add_sim_camera(d, h, sim.cameras[0])
        wait_footage(d, h, cid, SEGMENT_S)
        segs_before = len(storage_segments(d, cid))
        # The camera goes away for 6 s (RTSP and ONVIF down), then comes back.
        sim.set_faults(0, reboot_s=6)
        wait_until("a segment after the gap", lambda: len(storage_segments(d, cid)) >=
                   segs_before + 2, 90, step=0.25, detail=lambda: d.stderr()[-3000:])
        first = start_of(storage_segments(d, cid)[0])
        ws = connect(d, d.login("olga")["token"], cid, first, speed=4)
        r = Reader(ws)
        r.read(lambda r: r.of_type("gap"), limit_s=90)
        at_gap = len(r.media)
        r.read(lambda r: r.of_type("live"), limit_s=90)
        at_live = len(r.media)
        # Live: frames as they are recorded, a second's worth.
        r.read(lambda r: len(r.media) >= at_live + FPS, limit_s=30)
        ws.close()
    gap = r.of_type("gap")[0]
    length = (ns_of(gap["to"]) - ns_of(gap["from"])) / 1e9
    print(f"gap {gap['from']} .. {gap['to']} ({length:.2f} s) after {at_gap} frames; live "
          f"after {at_live}")
    assert 3 <= length <= 30, gap
    assert at_gap >= SEGMENT_S * FPS - FPS and at_live > at_gap
    # One media time line without holes: the whole stream decodes.
    path = r.write(tmp_path / "gap.mp4")
    _, packets = ffprobe_packets(path)
    dts = [float(p["dts_time"]) for p in packets]
    steps = [b - a for a, b in zip(dts, dts[1:])]
    assert max(steps) < 0.5, "no hole in the media time line over the gap"
    assert gap["media_time"] == pytest.approx(dts[r.texts[[m for _, m in r.texts].index(gap)][0]],
                                              abs=0.1)
    rc, errors = ffmpeg_decode(path)
    assert rc == 0 and errors == "", errors


def test_playback_across_a_kill9_of_zaulekd(make_daemon, tmp_path):
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        cid = add_sim_camera(d, h, sim.cameras[0])
        wait_footage(d, h, cid, SEGMENT_S)
        # Into the next segment, then kill -9 mid-segment.
        wait_until("a .part with data", lambda: any(
            p.stat().st_size > 500_000 for p in (d.dir / "storage" / cid).glob("*.ts.part")), 30)
        d.proc.kill()
        d.proc.wait()
        parts = list((d.dir / "storage" / cid).glob("*.ts.part"))
        assert parts, "the segment being written is left as .part"
        cut = parts[0]
        d.start()
        h = admin_headers(d)
        # Reconciled: the .part is a .ts now; recording goes on after it.
        recovered = cut.with_name(cut.name[: -len(".part")])
        wait_until("reconciled", recovered.exists, 30)
        wait_until("recording again", lambda: any(
            start_of(p) > start_of(recovered) for p in storage_segments(d, cid)), 60, step=0.25)
        # The cut segment's frames, as a decoder counts them.
        _, cut_packets = ffprobe_packets(recovered)
        t = start_of(recovered) + 10_000_000  # its first keyframe is the one before
        ws = connect(d, d.login("olga")["token"], cid, t, speed=4)
        r = Reader(ws).read(lambda r: len(r.media) >= len(cut_packets) + 2 * FPS, limit_s=60)
        ws.close()
    start = r.of_type("start")[0]
    assert ns_of(start["keyframe"]) == start_of(recovered) // 1_000_000 * 1_000_000, start
    gaps = r.of_type("gap")
    # The daemon was down for about a second: a gap if over the 1 s tolerance,
    # at the cut segment's end (all of whose whole frames played before it).
    before = r.texts[[m for _, m in r.texts].index(gaps[0])][0] if gaps else None
    print(f"kill -9: cut segment of {len(cut_packets)} frames; gap {gaps[:1]} after {before}")
    if gaps:
        assert len(cut_packets) - 1 <= before <= len(cut_packets), (before, len(cut_packets))
    path = r.write(tmp_path / "kill.mp4")
    _, packets = ffprobe_packets(path)
    assert len(packets) == len(r.media)
    rc, errors = ffmpeg_decode(path)
    assert rc == 0 and errors == "", errors


def test_playback_seek_speed_pause(make_daemon, tmp_path):
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        cid = add_sim_camera(d, h, sim.cameras[0])
        segs = wait_footage(d, h, cid, 3 * SEGMENT_S)
        first = start_of(segs[0])
        ws = connect(d, d.login("adam")["token"], cid, first)
        r = Reader(ws).read(lambda r: len(r.media) >= 10)
        # Seek to 11.5 s in: a new start at the keyframe before, media time goes on.
        target = first + 11_500_000_000
        ws.send(json.dumps({"type": "seek", "time": iso(target)}))
        r.read(lambda r: len(r.of_type("start")) == 2)
        start = r.of_type("start")[1]
        assert ns_of(start["time"]) == target // 1_000_000 * 1_000_000
        assert target - 2_100_000_000 <= ns_of(start["keyframe"]) <= target
        # Speed 8: keyframes only (after the frames read ahead up to the next
        # keyframe: at most 48, and 2 made before the change).
        ws.send(json.dumps({"type": "speed", "value": 8}))
        r.read(lambda r: r.of_type("speed"))
        at8 = len(r.media)
        r.read(lambda r: len(r.media) >= at8 + 50 + 4)
        fast = r.media[at8:at8 + 54]
        # Pause: the ack comes, then nothing new but what was in flight.
        ws.send(json.dumps({"type": "pause"}))
        r.read(lambda r: r.of_type("paused"))
        paused_at = len(r.media)
        ws.send(json.dumps({"type": "ping"}))
        r.ws.settimeout(20)
        pong = []
        for _ in range(100):
            op, data = ws.recv_data()
            if op == websocket.ABNF.OPCODE_TEXT and json.loads(data)["type"] == "pong":
                pong.append(data)
                break
            if op == websocket.ABNF.OPCODE_BINARY:
                r.media.append(data)
        assert pong and len(r.media) <= paused_at + 2, (len(r.media), paused_at)
        ws.send(json.dumps({"type": "speed", "value": 1}))
        ws.send(json.dumps({"type": "play"}))
        n = len(r.media)
        r.read(lambda r: r.of_type("playing") and len(r.media) >= n + 5)
        ws.close()
    # Each alone in a file with the init segment: from the first keyframe
    # after the change on, a keyframe each.
    flags = [ffprobe_packets(r.write(tmp_path / f"k{i}.mp4", [frag]))[1][0]["flags"][0]
             for i, frag in enumerate(fast)]
    first = flags.index("K")
    print(f"speed 8: {first} frames read ahead before the first keyframe, then {flags[first:]}")
    assert first <= 50 and set(flags[first:]) == {"K"}, flags
    rc, errors = ffmpeg_decode(r.write(tmp_path / "all.mp4"))
    assert rc == 0 and errors == "", errors


def test_playback_access_and_bad_input(make_daemon):
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        a, b = (add_sim_camera(d, h, c) for c in sim.cameras)
        segs = wait_footage(d, h, a, SEGMENT_S)
        first = start_of(segs[0])
        # Every role plays back (as every role reads /recordings).
        for user in ("olga", "adam", "iwona"):
            ws = connect(d, d.login(user)["token"], a, first)
            Reader(ws).read(lambda r: len(r.media) >= 2)
            ws.close()

        def status(path, token=None):
            headers = {"Connection": "Upgrade", "Upgrade": "websocket",
                       "Sec-WebSocket-Version": "13",
                       "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
            if token:
                headers["Authorization"] = "Bearer " + token
            r = requests.get(d.url(path), headers=headers, timeout=10)
            body = r.json() if r.headers.get("content-type", "").startswith(
                "application/json") else r.text
            return r.status_code, body

        olga = d.login("olga")["token"]
        base = f"/api/v1/cameras/{a}/playback"
        assert status(f"{base}?from={iso(first)}")[0] == 401
        assert status(f"/api/v1/cameras/nope/playback?from={iso(first)}", olga)[0] == 404
        for query, field in [("", "'from'"), ("?from=yesterday", "from"),
                             (f"?from={iso(first)}&speed=3", "'speed'"),
                             (f"?from={iso(first)}&speed=x", "'speed'")]:
            code, body = status(base + query, olga)
            assert code == 400 and field in body["error"]["message"], (query, body)
        # A user restricted to camera b does not see a: 404 as for no camera.
        r = requests.post(d.url("/api/v1/users"), headers=h, timeout=10,
                          json={"name": "rita", "password": "password-rita-4d2",
                                "role": "investigator"})
        assert r.status_code == 201, r.text
        r = requests.patch(d.url(f"/api/v1/users/{r.json()['id']}"), headers=h, timeout=10,
                           json={"cameras": [b]})
        assert r.status_code == 200, r.text
        rita = d.login("rita", "password-rita-4d2")["token"]
        assert status(f"{base}?from={iso(first)}", rita)[0] == 404

        # Bad messages: an error each, the stream goes on.
        ws = connect(d, olga, a, first)
        rd = Reader(ws).read(lambda r: len(r.media) >= 1)
        bad = ["not json", "[]", json.dumps({"no": "type"}), json.dumps({"type": "rewind"}),
               json.dumps({"type": "seek"}), json.dumps({"type": "seek", "time": "soon"}),
               json.dumps({"type": "seek", "time": 12}), json.dumps({"type": "speed"}),
               json.dumps({"type": "speed", "value": 3}),
               json.dumps({"type": "speed", "value": "8"}), "{" * 500]
        for m in bad:
            ws.send(m)
        rd.read(lambda r: len(r.of_type("error")) >= len(bad))
        n = len(rd.media)
        rd.read(lambda r: len(r.media) >= n + 5)
        ws.close()
        errors = [m["message"] for m in rd.of_type("error")]
        assert any("'time'" in e for e in errors) and any("'value'" in e for e in errors), errors

        # Clients that never read: bounded, and others still play.
        rss = lambda: int(re.search(r"VmRSS:\s+(\d+)", open(
            f"/proc/{d.proc.pid}/status").read()).group(1))
        before = rss()
        idle = [connect(d, olga, a, first, speed=8) for _ in range(5)]
        for w in idle:
            w.send(json.dumps({"type": "pause"}) * 1)
        for _ in range(200):  # sends without reading
            for w in idle:
                w.send(json.dumps({"type": "seek", "time": iso(first + 1_000_000_000)}))
        ws = connect(d, olga, a, first, speed=4)
        Reader(ws).read(lambda r: len(r.media) >= 3 * FPS)
        ws.close()
        after = rss()
        print(f"zaulekd RSS {before / 1024:.1f} MB before, {after / 1024:.1f} MB with 5 "
              "playback clients that never read")
        assert after - before < 150 * 1024, (before, after)
        for w in idle:
            w.close()
        assert requests.get(d.url("/healthz"), timeout=10).status_code == 200
        assert d.metric("zaulek_playback_viewers_opened_total") >= 10
