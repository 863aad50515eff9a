"""How a camera is pulled (issue 19), per camera, with the real zaulekd and the
real simulator: `sub_pull: always` keeps the sub stream pulled with no viewer
(at start and when changed at run time; back to `watched`, the pull ends after
the linger), and `rtsp_transport: udp` records and feeds live view over RTP/UDP
through rtspsrc, the simulator serving UDP unicast on loopback. Hostile UDP:
the simulator loses and reorders a share of the packets; zaulekd does not
crash, every segment it closes reads back clean, and the loss is counted."""
import re
import time

import requests

from camera_helpers import admin_headers, wait_log
from simfleet import SimFleet
from test_live import (CONFIG, FPS, PASSWORD, USER, add_sim_camera, closed_segments, connect,
                       ffmpeg_decode, ffprobe_packets, receive, token, wait_recording)
from zaulekd_fixture import wait_until

LINGER_S = 3
LIVE_CONFIG = CONFIG.replace("[recording]\n", f"[recording]\nsub_linger_s = {LINGER_S}\n")


def camera(d, h, cid):
    r = requests.get(d.url(f"/api/v1/cameras/{cid}"), headers=h, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def patch(d, h, cid, body):
    return requests.patch(d.url(f"/api/v1/cameras/{cid}"), headers=h, json=body, timeout=10)


def metrics_text(d):
    return requests.get(d.url("/metrics"), timeout=10).text


def gauge(d, name):
    m = re.search(rf"^{name} (\S+)$", metrics_text(d), re.M)
    assert m, f"{name} not in /metrics"
    return int(float(m.group(1)))


def packets_lost(d, cid, stream):
    m = re.search(rf'^zaulek_recording_rtp_packets_lost_total\{{camera="{cid}",stream="{stream}"\}}'
                  r" (\S+)$", metrics_text(d), re.M)
    return int(float(m.group(1))) if m else 0


def test_sub_pull_always(make_daemon):
    d = make_daemon(extra_toml=LIVE_CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        def clients(i):
            return sim.list_cameras()[i]["rtsp_clients"]

        # Camera a: sub always from the start; b: recording off, sub always.
        a = add_sim_camera(d, h, sim.cameras[0])
        r = requests.post(d.url("/api/v1/cameras"), headers=h, timeout=60, json={
            "onvif_url": sim.cameras[1]["onvif_url"], "username": USER, "password": PASSWORD,
            "recording": {"mode": "off"}, "sub_pull": "always"})
        assert r.status_code == 201, r.text
        b = r.json()["id"]
        assert r.json()["sub_pull"] == "always" and r.json()["rtsp_transport"] == "tcp"
        assert camera(d, h, a)["sub_pull"] == "watched"
        wait_recording(d, h, a)
        wait_until("b's sub pulled with no viewer", lambda: clients(1) == 1, 30, step=0.2)
        assert clients(0) == 1  # a: main only
        # Bad input: a clear 400, nothing changed.
        for body, message in (({"sub_pull": "sometimes"}, "'sub_pull' must be watched or always"),
                              ({"sub_pull": True}, "'sub_pull' must be watched or always"),
                              ({"rtsp_transport": "sctp"}, "'rtsp_transport' must be tcp or udp"),
                              ({"rtsp_transport": 6}, "'rtsp_transport' must be tcp or udp")):
            r = patch(d, h, a, body)
            assert r.status_code == 400 and r.json()["error"]["message"] == message, (body, r.text)
        # Changed at run time: a's sub stream pulled with nobody watching.
        r = patch(d, h, a, {"sub_pull": "always"})
        assert r.status_code == 200 and r.json()["sub_pull"] == "always", r.text
        wait_until("a's sub pulled with no viewer", lambda: clients(0) == 2, 30, step=0.2)
        assert gauge(d, "zaulek_live_sub_pulls_always") == 2
        assert gauge(d, "zaulek_live_sub_pulls") == 2
        started = gauge(d, "zaulek_live_sub_pulls_started_total")
        assert started == 2
        # A viewer joins the standing pull: no new session.
        ws = connect(d, token(d, "olga"), a, "sub")
        init, _, media, _, first = receive(ws, FPS)
        ws.close()
        left_ns = time.time_ns()
        print(f"sub always: first media segment {first * 1000:.1f} ms after the upgrade")
        assert init["stream"] == "sub" and (init["width"], init["height"]) == (640, 360), init
        assert len(media) == FPS
        # Left alone past the linger (main has closed a segment that ends a
        # second after it), the pull stays.
        wait_until("main recorded past the linger", lambda: any(
            cam == a and end >= left_ns + (LINGER_S + 1) * 10**9
            for cam, _, _, end in closed_segments(d)), 60, step=0.2)
        assert "sub stream unwatched" not in d.stderr()
        assert clients(0) == 2 and gauge(d, "zaulek_live_sub_pulls_started_total") == started
        # Honoured at start: a restart pulls both subs again with no viewer.
        d.stop()
        wait_until("sessions closed", lambda: clients(0) == 0 and clients(1) == 0, 30, step=0.2)
        d.start()
        wait_until("pulled again at start", lambda: clients(0) == 2 and clients(1) == 1, 60,
                   step=0.2, detail=lambda: d.stderr()[-3000:])
        assert gauge(d, "zaulek_live_sub_pulls_always") == 2
        # Back to watched: the pull ends after the linger; main records on.
        r = patch(d, h, a, {"sub_pull": "watched"})
        assert r.status_code == 200 and r.json()["sub_pull"] == "watched", r.text
        wait_log(d, f"live {a}: the sub stream is no longer pulled always")
        wait_until("a's sub pull stopped", lambda: clients(0) == 1, 30, step=0.2)
        wait_log(d, f"live {a}: sub stream unwatched for {LINGER_S * 1000} ms; its pull stops")
        assert gauge(d, "zaulek_live_sub_pulls_always") == 1
        assert camera(d, h, a)["recording"]["state"] == "recording"
        # b removed: its standing pull goes at once.
        assert requests.delete(d.url(f"/api/v1/cameras/{b}"), headers=h,
                               timeout=10).status_code in (200, 204)
        wait_until("b's pull stopped", lambda: clients(1) == 0, 30, step=0.2)
        assert gauge(d, "zaulek_live_sub_pulls_always") == 0
        # Audited with the old and new values.
        entries = requests.get(d.url("/api/v1/audit"), headers=h, params={"limit": 100},
                               timeout=10).json()["entries"]
        details = [e["detail"] for e in entries
                   if e["action"] == "camera.update" and e["target"] == f"camera:{a}"]
        assert {"sub_pull": {"from": "watched", "to": "always"}} in details, details
        assert {"sub_pull": {"from": "always", "to": "watched"}} in details, details


def segment_frames(d, cid):
    """(segment, frames, frames its duration says) for each closed segment."""
    out = []
    for cam, seg, start, end in closed_segments(d):
        if cam != cid:
            continue
        info, packets = ffprobe_packets(d.dir / "storage" / seg)
        dts = [int(p["dts"]) for p in packets if p.get("dts") is not None]
        assert all(b > a for a, b in zip(dts, dts[1:])), f"{seg}: decode times go back"
        assert packets and packets[0]["flags"].startswith("K"), f"{seg} starts at a keyframe"
        out.append((seg, len(packets), (end - start) / 1e9 * FPS))
    return out


def wait_segments(d, cid, n, limit_s=60):
    wait_until(f"{n} closed segments of {cid}",
               lambda: len([r for r in closed_segments(d) if r[0] == cid]) >= n, limit_s,
               step=0.2, detail=lambda: d.stderr()[-3000:])


def test_udp_transport_records_and_feeds_live_view(make_daemon, tmp_path):
    d = make_daemon(extra_toml=LIVE_CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        r = requests.post(d.url("/api/v1/cameras"), headers=h, timeout=60, json={
            "onvif_url": sim.cameras[0]["onvif_url"], "username": USER, "password": PASSWORD,
            "rtsp_transport": "udp"})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        assert r.json()["rtsp_transport"] == "udp"
        wait_recording(d, h, cid)
        wait_log(d, rf"camera {cid}: connecting to rtsp://127\.0\.0\.1:\d+/main over udp")

        def udp_sent():
            return sim.list_cameras()[0]["udp"]["packets_sent"]
        before = udp_sent()
        wait_until("RTP over UDP flows", lambda: udp_sent() > before + 100, 10, step=0.1)
        # Live view from the UDP pull: main (the recorder's) and sub (its own, UDP too).
        olga = token(d, "olga")
        for stream, size in (("main", (1920, 1080)), ("sub", (640, 360))):
            ws = connect(d, olga, cid, stream)
            try:
                init, moov, media, _, first = receive(ws, 2 * FPS)
            finally:
                ws.close()
            print(f"udp {stream}: first media {first * 1000:.1f} ms after the upgrade")
            assert init["stream"] == stream and (init["width"], init["height"]) == size, init
            path = tmp_path / f"udp-{stream}.mp4"
            path.write_bytes(moov + b"".join(media))
            info, packets = ffprobe_packets(path)
            assert len(packets) == len(media)
            rc, errors = ffmpeg_decode(path)
            assert rc == 0 and errors == "", errors
        wait_log(d, rf"camera {cid}/sub: connecting to rtsp://127\.0\.0\.1:\d+/sub over udp")
        # What it recorded over UDP: every closed segment has the frames its
        # duration says (loopback loses nothing), and decodes clean.
        wait_segments(d, cid, 2)
        frames = segment_frames(d, cid)
        for seg, n, expect in frames:
            print(f"udp {seg}: {n} frames, {expect:.1f} by its duration")
            assert abs(n - expect) <= 1, (seg, n, expect)
        rc, errors = ffmpeg_decode(d.dir / "storage" / frames[0][0])
        assert rc == 0 and errors == "", errors
        assert packets_lost(d, cid, "main") == 0
        assert camera(d, h, cid)["recording"]["packets_lost"] == 0
        # Back to TCP at run time: the recorder restarts on the native ingest.
        r = patch(d, h, cid, {"rtsp_transport": "tcp"})
        assert r.status_code == 200 and r.json()["rtsp_transport"] == "tcp", r.text
        wait_log(d, rf"camera {cid}: connecting to rtsp://127\.0\.0\.1:\d+/main over tcp "
                    r"\(native ingest\)")
        wait_recording(d, h, cid)


def test_udp_loss_and_reordering_are_survived_and_counted(make_daemon, tmp_path):
    d = make_daemon(extra_toml=LIVE_CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD, seed=19) as sim:
        # Bad fault values are refused by the simulator.
        for bad in ({"udp_loss_percent": 51}, {"udp_reorder_percent": -1},
                    {"udp_loss_percent": "x"}):
            status, body = sim.request("POST", "/sim/cameras/0/faults", bad)
            assert status == 400, (bad, status, body)
        r = requests.post(d.url("/api/v1/cameras"), headers=h, timeout=60, json={
            "onvif_url": sim.cameras[0]["onvif_url"], "username": USER, "password": PASSWORD,
            "rtsp_transport": "udp"})
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        wait_recording(d, h, cid)
        faults = sim.set_faults(0, udp_loss_percent=2, udp_reorder_percent=10)
        assert faults["udp_loss_percent"] == 2 and faults["udp_reorder_percent"] == 10
        t0 = time.monotonic()
        first_seg = len([x for x in closed_segments(d) if x[0] == cid])
        wait_segments(d, cid, first_seg + 3, limit_s=90)
        udp = sim.list_cameras()[0]["udp"]
        print(f"simulator: {udp} in {time.monotonic() - t0:.1f} s")
        assert udp["packets_dropped"] > 0 and udp["packets_reordered"] > 0, udp
        # Counted: /metrics per camera and stream, and the camera's recorder.
        wait_until("loss counted", lambda: packets_lost(d, cid, "main") > 0, 10, step=0.2)
        lost = packets_lost(d, cid, "main")
        print(f"zaulekd counted {lost} RTP packets lost; the simulator dropped "
              f"{udp['packets_dropped']}")
        assert camera(d, h, cid)["recording"]["packets_lost"] > 0
        # Live view goes on through the loss.
        ws = connect(d, token(d, "olga"), cid)
        init, _, media, _, _ = receive(ws, FPS)
        ws.close()
        assert init["stream"] == "main" and len(media) == FPS
        # Nothing corrupt: every closed segment reads back with decode times
        # going forward, from a keyframe, never more frames than its duration.
        lossy = segment_frames(d, cid)[first_seg:]
        for seg, n, expect in lossy:
            print(f"lossy {seg}: {n} frames, {expect:.1f} by its duration")
            assert 0 < n <= expect + 1, (seg, n, expect)
        # The network heals: the next segments are whole again.
        sim.set_faults(0, udp_loss_percent=0, udp_reorder_percent=0)
        healed = len([x for x in closed_segments(d) if x[0] == cid])
        wait_segments(d, cid, healed + 2, limit_s=60)
        seg, n, expect = segment_frames(d, cid)[healed + 1]
        print(f"healed {seg}: {n} frames, {expect:.1f} by its duration")
        assert abs(n - expect) <= 1, (seg, n, expect)
        rc, errors = ffmpeg_decode(d.dir / "storage" / seg)
        assert rc == 0 and errors == "", errors
        assert requests.get(d.url("/healthz"), timeout=10).status_code == 200
        assert d.proc.poll() is None
