"""Evidence export (#20) with real consumers: zaulek-sim cameras recorded by
zaulekd (H.264 and H.265, with B-frames and without), a range exported over
the API, progress seen on /api/v1/ws, the ZIP downloaded and checked by
zaulek-verify, the MP4 read by ffprobe, ffmpeg, GStreamer and Chromium (duration within
one frame of what was asked, the first frame shown the one at `from`), a
changed byte failing the check; the evidence hold placed and released;
roles, visibility and bad input; failures (no footage, a vanished source);
and a daemon killed during a job."""
import hashlib
import json
import os
import re
import signal
import subprocess
import threading
import zipfile

import pytest
import requests
import websocket

from camera_helpers import FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns
from simfleet import SimFleet
from zaulekd_fixture import BUILD_DIR, run_cli, wait_until

enter_netns()

VERIFY = BUILD_DIR / "evidence" / "zaulek-verify"
USER = "exportcam"
PASSWORD = "Export-Secret-77a1"
FRAME_S = 0.04  # the simulator's 25 fps
CONFIG = FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n[recording]\nsegment_seconds = 5\n"
REASON = "Sprawa RSD-20/2026: pobicie w przejściu podziemnym"


def ns(t):
    """RFC 3339 with nanoseconds -> int ns (the API's times)."""
    from datetime import datetime, timezone
    main, _, frac = t.rstrip("Z").partition(".")
    dt = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9])


def rfc(t_ns):
    from datetime import datetime, timezone
    s, frac = divmod(t_ns, 1_000_000_000)
    return datetime.fromtimestamp(s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def add_sim_camera(d, h, cam):
    r, _ = add_camera(d, h, cam["onvif_url"], USER, PASSWORD)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def recorded(d, h, cid, seconds):
    """Waits until the camera has `seconds` of footage in one range; returns its (start, end)."""
    def enough():
        r = requests.get(d.url(f"/api/v1/cameras/{cid}/recordings"), headers=h, timeout=10)
        ranges = r.json()["ranges"]
        if ranges and ns(ranges[-1]["end"]) - ns(ranges[-1]["start"]) >= seconds * 1e9:
            return ns(ranges[-1]["start"]), ns(ranges[-1]["end"])
        return None
    return wait_until(f"{seconds} s of {cid}", enough, 90, step=0.25,
                      detail=lambda: d.stderr()[-3000:])


class Console:
    """A /api/v1/ws console collecting job messages on a thread."""

    def __init__(self, d, token):
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{d.port}/api/v1/ws", timeout=5,
                                              header=["Authorization: Bearer " + token])
        hello = json.loads(self.ws.recv())
        assert hello["type"] == "hello", hello
        self.jobs = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.ws.settimeout(0.5)
        while not self.stop:
            try:
                m = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                return
            if m.get("type") == "job":
                self.jobs.append(m)

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.ws.close()


def export(d, h, cid, start_ns, end_ns, reason=REASON):
    r = requests.post(d.url("/api/v1/exports"), headers=h, timeout=10,
                      json={"camera_id": cid, "from": rfc(start_ns), "to": rfc(end_ns),
                            "reason": reason})
    assert r.status_code == 202, r.text
    return r.json()["id"]


def finished(d, h, eid, limit_s=120):
    def over():
        r = requests.get(d.url(f"/api/v1/exports/{eid}"), headers=h, timeout=10)
        assert r.status_code == 200, r.text
        j = r.json()
        return j if j["state"] in ("done", "failed") else None
    return wait_until(f"export {eid} finished", over, limit_s, step=0.1,
                      detail=lambda: d.stderr()[-3000:])


def download(d, h, eid, path):
    with requests.get(d.url(f"/api/v1/exports/{eid}/download"), headers=h, timeout=60,
                      stream=True) as r:
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"] == "application/zip"
        assert f'filename="{eid}.zip"' in r.headers["Content-Disposition"]
        with open(path, "wb") as f:
            for chunk in r.iter_content(1 << 16):
                f.write(chunk)
    return path


def ffprobe(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams",
                        "-show_entries", "frame=best_effort_timestamp_time,pts_time,key_frame",
                        "-show_frames", "-of", "json", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def gst_duration_and_frames(path, codec):
    """GStreamer's reading: the duration gst-discoverer reports, the frames a
    decoder gives (fakesink's chain lines) and where the first one is shown:
    its timestamp minus the segment's start (qtdemux turns the edit list into
    the segment; the decoder clips the frame that covers `from` to it)."""
    parse, dec = ("h264parse", "avdec_h264") if codec == "h264" else ("h265parse", "avdec_h265")
    d = subprocess.run(["gst-discoverer-1.0", str(path)], capture_output=True, text=True,
                       timeout=60)
    assert d.returncode == 0, d.stdout + d.stderr
    dur = None
    for line in d.stdout.splitlines():
        if line.strip().startswith("Duration:"):
            hh, mm, ss = line.split(":", 1)[1].strip().split(":")
            dur = int(hh) * 3600 + int(mm) * 60 + float(ss)
    assert dur is not None, d.stdout
    r = subprocess.run(["gst-launch-1.0", "-v", "filesrc", f"location={path}", "!", "qtdemux",
                        "!", parse, "!", dec, "!", "fakesink", "silent=false", "sync=false"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "ERROR" not in r.stderr, r.stderr[-2000:]
    start = re.search(r"type: segment.*?start=\(guint64\)(\d+)", r.stdout)
    assert start, r.stdout[-2000:]
    pts = [int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + int(m[4]) / 1e9
           for m in re.finditer(r"last-message = chain.*?pts: (\d+):(\d+):(\d+)\.(\d+)",
                                r.stdout)]
    assert pts, r.stdout[-2000:]
    return dur, len(pts), min(pts) - int(start[1]) / 1e9


CHROMIUM_PLAY_JS = r"""
const done = arguments[arguments.length - 1];
const video = document.querySelector('video');
const result = {error: null, duration: null, ended: false, frames: 0, times: []};
video.muted = true;
video.onerror = () => { result.error = 'video error ' + video.error.code + ' ' + video.error.message; };
video.play().catch(e => { result.error = 'play: ' + e; });
// Until the file has played to its end (a positive signal), bounded by 30 s.
const start = Date.now();
const tick = setInterval(() => {
  result.duration = video.duration;
  result.times.push(video.currentTime);
  result.ended = video.ended;
  if (video.getVideoPlaybackQuality) result.frames = video.getVideoPlaybackQuality().totalVideoFrames;
  if (result.error || video.ended || Date.now() - start > 30000) {
    clearInterval(tick);
    done(result);
  }
}, 100);
"""


def chromium_plays(mp4, tmp_path):
    """Headless Chromium (the console's browser) plays the MP4 from a file page to its end."""
    from console_browser import browser  # the same headless Chromium as the console's tests
    page = mp4.parent / f"{mp4.stem}.html"
    page.write_text(f'<!doctype html><video src="{mp4.name}" preload="auto"></video>')
    drv = browser(tmp_path)
    try:
        drv.set_script_timeout(40)
        drv.get(page.as_uri())
        return drv.execute_async_script(CHROMIUM_PLAY_JS)
    finally:
        drv.quit()


def top_boxes(path):
    """The MP4's top-level box types in file order."""
    import struct
    out, data, at = [], path.read_bytes(), 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        if size == 1:
            size = struct.unpack(">Q", data[at + 8:at + 16])[0]
        assert size >= 8, (at, size)
        out.append(kind.decode())
        at += size
    assert at == len(data), (at, len(data))
    return out


def verify(path, key=None):
    args = [str(VERIFY), str(path)] + (["--key", key] if key else [])
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_export_plays_in_real_consumers(make_daemon, tmp_path, codec):
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    iwona = d.bearer("iwona")
    # Camera 0 with B-frames (b-pyramid), camera 1 without.
    with SimFleet(cameras=2, user=USER, password=PASSWORD, h265=(codec == "h265"),
                  extra_args=["--bframes", "0"]) as sim:
        ids = [add_sim_camera(d, h, c) for c in sim.cameras]
        spans = [recorded(d, h, cid, 13) for cid in ids]
        console = Console(d, iwona["Authorization"].split()[1])
        try:
            for cid, (start, end), bframes in zip(ids, spans, (True, False)):
                # Mid-GOP (keyframes every 2 s), across a segment boundary (5 s).
                t0 = start + 3_310_000_000
                t1 = t0 + 7_000_000_000
                assert t1 < end
                eid = export(d, iwona, cid, t0, t1)
                job = finished(d, iwona, eid)
                assert job["state"] == "done", job
                assert job["progress"] == 1 and job["bytes"] > 0 and job["error"] is None
                zpath = download(d, iwona, eid, tmp_path / f"{eid}.zip")
                assert zpath.stat().st_size == job["bytes"]
                keys = requests.get(d.url("/api/v1/keys"), headers=iwona, timeout=10).json()
                pub = tmp_path / "key.b64"
                pub.write_text(keys["keys"][0]["public_key"])
                v = verify(zpath, str(pub))
                assert v.returncode == 0, v.stdout + v.stderr
                with zipfile.ZipFile(zpath) as z:
                    manifest = json.loads(z.read("manifest.json"))
                    z.extract(f"{eid}.mp4", tmp_path)
                mp4 = tmp_path / f"{eid}.mp4"
                assert manifest["reason"] == REASON and manifest["exported_by"] == "iwona"
                assert manifest["camera"]["id"] == cid
                assert ns(manifest["requested"]["from"]) == t0
                assert ns(manifest["delivered"]["from"]) == t0
                assert ns(manifest["delivered"]["to"]) == t1
                assert manifest["gaps"] == []
                assert len(manifest["segments"]) >= 2, manifest["segments"]
                for s in manifest["segments"]:
                    data = (d.dir / "storage" / s["path"]).read_bytes()
                    assert hashlib.sha256(data).hexdigest() == s["sha256"], s
                    assert len(data) == s["bytes"]
                assert hashlib.sha256(mp4.read_bytes()).hexdigest() == job["sha256"]
                # Every byte final when written (docs/design/export.md): the
                # media data in boxes of about 1 MiB, the moov at the end.
                boxes = top_boxes(mp4)
                assert boxes[:2] == ["ftyp", "free"] and boxes[-1] == "moov", boxes
                assert set(boxes[2:-1]) == {"mdat"} and len(boxes) - 3 >= 2, boxes
                # ffprobe: the asked duration within one frame; the first frame
                # shown at 0 (the edit list skips the GOP's earlier frames).
                info = ffprobe(mp4)
                st = info["streams"][0]
                assert st["codec_name"] == {"h264": "h264", "h265": "hevc"}[codec]
                if codec == "h265":
                    assert st["codec_tag_string"] == "hvc1"
                dur = float(info["format"]["duration"])
                shown = [f for f in info["frames"]]
                first = min(float(f["best_effort_timestamp_time"]) for f in shown)
                print(f"{codec} b={bframes}: ffprobe duration {dur:.4f} s, first frame "
                      f"{first:.4f} s, {len(shown)} frames decoded")
                assert abs(dur - 7.0) <= FRAME_S, dur
                assert abs(first) < FRAME_S / 2, first
                assert 7.0 / FRAME_S - 1 <= len(shown) <= 7.0 / FRAME_S + 1, len(shown)
                # ffmpeg decodes the file without an error.
                r = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(mp4), "-f",
                                    "null", "-"], capture_output=True, text=True, timeout=120)
                assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
                # GStreamer agrees.
                gdur, gframes, gfirst = gst_duration_and_frames(mp4, codec)
                print(f"{codec} b={bframes}: GStreamer duration {gdur:.4f} s, "
                      f"{gframes} frames, first shown at {gfirst:.4f} s")
                assert abs(gdur - 7.0) <= FRAME_S, gdur
                # GStreamer 1.22's qtdemux ends the movie at the first keyframe
                # after (duration - the pre-roll before `from`) in decode time:
                # with a keyframe in the last pre-roll's length before `to`, the
                # frames shown after it are not decoded (at most a GOP: 2 s);
                # its duration and first frame agree with ffprobe's
                # (docs/design/export.md).
                assert len(shown) - 50 <= gframes <= len(shown) + 1, (gframes, len(shown))
                assert abs(gfirst) < FRAME_S / 2, gfirst
                if codec == "h264":
                    # Chromium plays it to its end (its MP4 reader, several mdat boxes).
                    c = chromium_plays(mp4, tmp_path)
                    print(f"{codec} b={bframes}: Chromium duration {c['duration']}, ended "
                          f"{c['ended']}, {c['frames']} frames")
                    assert c["error"] is None, c
                    assert c["ended"], c
                    # Every frame ffprobe shows, and only those.
                    assert abs(c["frames"] - len(shown)) <= 1, (c, len(shown))
                    # Chromium's duration goes to the end of the last frame
                    # presented (past `to` by the B-frames' reordering: at
                    # most 4 frames here), not the edit's.
                    assert 7.0 - FRAME_S <= c["duration"] <= 7.0 + 5 * FRAME_S, c
                # A changed byte anywhere in the MP4 fails the check.
                raw = bytearray(zpath.read_bytes())
                with zipfile.ZipFile(zpath) as z:
                    info_mp4 = z.getinfo(f"{eid}.mp4")
                at = info_mp4.header_offset + 30 + len(info_mp4.filename) + 1000
                raw[at] ^= 0x01
                bad = tmp_path / f"{eid}-tampered.zip"
                bad.write_bytes(bytes(raw))
                v = verify(bad, str(pub))
                assert v.returncode == 1, v.stdout + v.stderr
                assert f"{eid}.mp4" in v.stdout + v.stderr
                seen = [m for m in console.jobs if m.get("id") == eid]
                states = [m["state"] for m in seen]
                assert states[0] == "queued" and states[-1] == "done", states
                assert "running" in states
                assert all(m["kind"] == "export" and m["camera_id"] == cid for m in seen)
        finally:
            console.close()


def test_export_access_holds_and_bad_input(make_daemon, tmp_path):
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        a, b = [add_sim_camera(d, h, c) for c in sim.cameras]
        # Closed segments: the one being written is not in the catalogue yet.
        start, end = recorded(d, h, a, 12)
        # An investigator who sees only camera b.
        r = run_cli(["--config", str(d.config_path), "user", "add", "ines", "--role",
                     "investigator", "--cameras", b], stdin_text="Ines-Secret-0d9c11\n")
        assert r.returncode == 0, r.stderr
        d.passwords["ines"] = "Ines-Secret-0d9c11"
        iwona, olga, ines = d.bearer("iwona"), d.bearer("olga"), d.bearer("ines")
        body = {"camera_id": a, "from": rfc(start), "to": rfc(start + 2_000_000_000),
                "reason": REASON}
        # Operators may not export or see exports.
        assert requests.post(d.url("/api/v1/exports"), headers=olga, json=body,
                             timeout=10).status_code == 403
        assert requests.get(d.url("/api/v1/exports"), headers=olga, timeout=10).status_code == 403
        # Bad input: each error names its field.
        for change, field in (({"reason": ""}, "reason"), ({"reason": "a\x01b"}, "reason"),
                              ({"reason": "x" * 1025}, "reason"),
                              ({"to": rfc(start + 25 * 3600 * 10**9)}, "'to'"),
                              ({"to": rfc(start - 10**9)}, "'to'"), ({"from": "yesterday"}, "'from'"),
                              ({"camera_id": "../etc"}, "camera_id")):
            r = requests.post(d.url("/api/v1/exports"), headers=iwona, json={**body, **change},
                              timeout=10)
            assert r.status_code == 400, (change, r.text)
            assert field in r.json()["error"]["message"], (change, r.text)
        r = requests.post(d.url("/api/v1/exports"), headers=iwona,
                          json={k: v for k, v in body.items() if k != "reason"}, timeout=10)
        assert r.status_code == 400 and "reason" in r.text
        # A camera the caller may not see is 404, like one that does not exist.
        assert requests.post(d.url("/api/v1/exports"), headers=ines, json=body,
                             timeout=10).status_code == 404
        assert requests.post(d.url("/api/v1/exports"), headers=iwona,
                             json={**body, "camera_id": "cam-999"}, timeout=10).status_code == 404
        # Export: a hold with the export's id, audited; hidden from ines.
        eid = export(d, iwona, a, start, start + 2_000_000_000)
        job = finished(d, iwona, eid)
        assert job["state"] == "done", job
        holds = requests.get(d.url("/api/v1/holds"), headers=iwona, timeout=10).json()["holds"]
        mine = [x for x in holds if x["reason"].startswith(f"export {eid}:")]
        assert len(mine) == 1 and mine[0]["camera_id"] == a, holds
        assert REASON in mine[0]["reason"]
        for path in (f"/api/v1/exports/{eid}", f"/api/v1/exports/{eid}/download"):
            assert requests.get(d.url(path), headers=ines, timeout=10).status_code == 404
            assert requests.get(d.url(path), headers=olga, timeout=10).status_code == 403
        assert requests.delete(d.url(f"/api/v1/exports/{eid}"), headers=ines,
                               timeout=10).status_code == 404
        listed = requests.get(d.url("/api/v1/exports"), headers=ines, timeout=10).json()
        assert listed["exports"] == []
        listed = requests.get(d.url("/api/v1/exports"), headers=iwona, timeout=10).json()
        assert [x["id"] for x in listed["exports"]] == [eid]
        assert requests.get(d.url("/api/v1/exports/exp-999"), headers=iwona,
                            timeout=10).status_code == 404
        download(d, iwona, eid, tmp_path / "a.zip")
        # Paging: newest first, next_before.
        second = export(d, iwona, a, start, start + 1_000_000_000)
        finished(d, iwona, second)
        page = requests.get(d.url("/api/v1/exports?limit=1"), headers=iwona, timeout=10).json()
        assert [x["id"] for x in page["exports"]] == [second] and page["next_before"] == second
        page = requests.get(d.url(f"/api/v1/exports?limit=1&before={second}"), headers=iwona,
                            timeout=10).json()
        assert [x["id"] for x in page["exports"]] == [eid]
        # Delete: package and hold gone, audited.
        r = requests.delete(d.url(f"/api/v1/exports/{eid}"), headers=iwona, timeout=30)
        assert r.status_code == 200, r.text
        assert requests.get(d.url(f"/api/v1/exports/{eid}"), headers=iwona,
                            timeout=10).status_code == 404
        holds = requests.get(d.url("/api/v1/holds"), headers=iwona, timeout=10).json()["holds"]
        assert not [x for x in holds if x["reason"].startswith(f"export {eid}:")], holds
        assert not (d.dir / "storage" / ".exports" / f"{eid}.zip").exists()
        audit = requests.get(d.url("/api/v1/audit?limit=1000"), headers=h, timeout=10)
        assert audit.status_code == 200, audit.text
        actions = [(e["action"], e["target"]) for e in audit.json()["entries"]]
        for action in ("export.add", "export.download", "export.delete"):
            assert (action, f"export:{eid}") in actions, actions
        # No footage in the range: failed, saying so.
        eid = export(d, iwona, a, start - 3600 * 10**9, start - 3000 * 10**9)
        job = finished(d, iwona, eid)
        assert job["state"] == "failed" and "no footage" in job["error"], job
        r = requests.get(d.url(f"/api/v1/exports/{eid}/download"), headers=iwona, timeout=10)
        assert r.status_code == 409, r.text


def test_export_source_vanished_and_restart(make_daemon, tmp_path):
    d = make_daemon(extra_toml=CONFIG)
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        (a,) = [add_sim_camera(d, h, c) for c in sim.cameras]
        start, end = recorded(d, h, a, 12)
        iwona = d.bearer("iwona")
        segs = sorted((d.dir / "storage" / a).glob("*.ts"))
        assert len(segs) >= 2, segs
        # A source segment removed behind the catalogue's back.
        victim = segs[0]
        saved = victim.read_bytes()
        victim.unlink()
        eid = export(d, iwona, a, start, start + 3_000_000_000)
        job = finished(d, iwona, eid)
        assert job["state"] == "failed", job
        assert victim.name in job["error"] and "cannot be read" in job["error"], job
        victim.write_bytes(saved)
        # A job that blocks reading its source (a FIFO in place of the segment)
        # is running when zaulekd is killed; after the restart it is failed.
        victim.unlink()
        os.mkfifo(victim)
        eid = export(d, iwona, a, start, start + 3_000_000_000)
        wait_until("export running", lambda: requests.get(
            d.url(f"/api/v1/exports/{eid}"), headers=iwona, timeout=10).json()["state"] == "running",
            30)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)
        d._stderr.close()
        victim.unlink()
        victim.write_bytes(saved)
        d.start()
        iwona = d.bearer("iwona")
        job = requests.get(d.url(f"/api/v1/exports/{eid}"), headers=iwona, timeout=10).json()
        assert job["state"] == "failed" and "zaulekd stopped" in job["error"], job
        # And the hold stays until the export is deleted.
        holds = requests.get(d.url("/api/v1/holds"), headers=iwona, timeout=10).json()["holds"]
        assert [x for x in holds if x["reason"].startswith(f"export {eid}:")]
        r = requests.delete(d.url(f"/api/v1/exports/{eid}"), headers=iwona, timeout=30)
        assert r.status_code == 200, r.text
        # A job after the restart runs to the end.
        eid = export(d, iwona, a, start, start + 3_000_000_000)
        assert finished(d, iwona, eid)["state"] == "done"
        leftovers = [p.name for p in (d.dir / "storage" / ".exports").iterdir()]
        assert all(not n.endswith(".part") for n in leftovers), leftovers
