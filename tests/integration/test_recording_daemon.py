"""zaulekd records its cameras: the real daemon, cameras added through the API
from the real simulator (RTSP over loopback, digest credentials), short
segments. Segments become catalogue rows, the recordings API shows ranges
(with the live edge), files play in ffprobe with the right duration; an
evidence hold survives a retention pass; kill -9 of the daemon recording
several cameras loses at most about a second per camera.

The kill test runs ZAULEK_RECORDING_KILL_TRIALS trials (default 3) with
ZAULEK_RECORDING_KILL_CAMERAS cameras (default 3); the long version is
ZAULEK_RECORDING_KILL_TRIALS=10 ZAULEK_RECORDING_KILL_CAMERAS=5."""
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import time
from datetime import datetime

import requests

from camera_helpers import (FAST_CAMERAS_TOML, add_camera, admin_headers, enter_netns,
                            wait_buffered, wait_log)
from simfleet import SimFleet
from zaulekd_fixture import wait_until

enter_netns()

USER = "recadmin"
PASSWORD = "Rec-Secret-41c9d2"
SEGMENT_S = 5
GOP_S = 2  # the simulator's main stream
KILL_TRIALS = int(os.environ.get("ZAULEK_RECORDING_KILL_TRIALS", "3"))
KILL_CAMERAS = int(os.environ.get("ZAULEK_RECORDING_KILL_CAMERAS", "3"))
MAX_LOSS_S = 1.0
DAY_NS = 86400 * 10**9


def config(extra=""):
    return (FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n[recording]\n"
            f"segment_seconds = {SEGMENT_S}\n" + extra)


def storage(d):
    return d.dir / "storage"


def rows(d, camera_id=None):
    """Catalogue segment rows (the real SQLite file, read-only), by start."""
    db = sqlite3.connect(f"file:{storage(d) / 'zaulek.db'}?mode=ro", uri=True, timeout=10)
    try:
        db.row_factory = sqlite3.Row
        q = "SELECT * FROM segments"
        args = ()
        if camera_id:
            q += " WHERE camera_id = ?"
            args = (camera_id,)
        return [dict(r) for r in db.execute(q + " ORDER BY camera_id, start_ns", args)]
    finally:
        db.close()


def closed_rows(d, camera_id):
    return [r for r in rows(d, camera_id) if r["state"] == "closed"]


def wait_rows(d, camera_id, count, limit_s=120):
    def enough():
        got = closed_rows(d, camera_id)
        return got if len(got) >= count else None
    return wait_until(f"{camera_id}: {count} closed segment rows", enough, limit_s, step=0.5,
                      detail=lambda: d.stderr()[-3000:])


def parts(d, camera_id):
    """The camera's segments being written."""
    return list((storage(d) / camera_id).glob("*.part"))


def camera(d, h, camera_id):
    r = requests.get(d.url(f"/api/v1/cameras/{camera_id}"), headers=h, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def settled(d, camera_id):
    """The camera's closed rows once nothing is being written and every
    segment file on disk has its row (the recorder closed its last segment
    and the catalogue has it); None before."""
    if parts(d, camera_id):
        return None
    got = closed_rows(d, camera_id)
    files = list((storage(d) / camera_id).glob("*.ts"))
    return got if len(got) == len(files) else None


def ns(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 10**9)


def iso(t_ns):
    return datetime.utcfromtimestamp(t_ns / 1e9).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def ffprobe(path):
    """Codec, packets and duration (no decoding); raises if the file does not play."""
    res = subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,nb_read_packets:format=duration", "-of", "json", str(path)],
        capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, f"ffprobe failed on {path}: {res.stderr}"
    info = json.loads(res.stdout)
    stream = info["streams"][0]
    return {"codec": stream["codec_name"], "packets": int(stream.get("nb_read_packets", 0)),
            "duration": float(info["format"].get("duration", 0.0))}


def add_sim_camera(d, h, cam, **extra):
    r, took = add_camera(d, h, cam["onvif_url"], USER, PASSWORD, **extra)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def recordings(d, h, camera_id, **params):
    r = requests.get(d.url(f"/api/v1/cameras/{camera_id}/recordings"), headers=h, params=params,
                     timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def check_segments_play(d, segs, codec):
    for s in segs:
        info = ffprobe(storage(d) / s["path"])
        row_s = (s["end_ns"] - s["start_ns"]) / 1e9
        print(f"{s['path']}: row {row_s:.3f} s, ffprobe {info['duration']:.3f} s, "
              f"{info['packets']} packets, {s['bytes']} bytes")
        assert info["codec"] == codec
        assert info["packets"] > 0
        assert s["bytes"] == os.path.getsize(storage(d) / s["path"])
        # The catalogue and the file agree on the duration (a frame or two).
        assert abs(info["duration"] - row_s) < 0.2, (s, info)


def test_camera_added_is_recorded(make_daemon):
    d = make_daemon(extra_toml=config())
    h = admin_headers(d)
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        cid = add_sim_camera(d, h, sim.cameras[0])
        segs = wait_rows(d, cid, 3)
        # Whole segments: cut at the first keyframe at or after segment_seconds.
        for s in segs[:3]:
            dur = (s["end_ns"] - s["start_ns"]) / 1e9
            assert SEGMENT_S - 0.1 <= dur <= SEGMENT_S + GOP_S + 0.1, s
            assert s["codec"] == "h264" and s["keyframes"] >= 2
            assert s["path"].startswith(f"{cid}/") and s["path"].endswith(".ts")
        # One after the other, no gap while the camera streams.
        for a, b in zip(segs, segs[1:]):
            assert 0 <= b["start_ns"] - a["end_ns"] < 10**9, (a, b)
        check_segments_play(d, segs[:3], "h264")

        before = [r for r in rows(d, cid) if r["state"] == "closed"]
        body = recordings(d, d.bearer("olga"), cid,
                          **{"from": iso(segs[0]["start_ns"] - 60 * 10**9)})
        print("recordings:", body)
        assert body["camera_id"] == cid
        assert len(body["ranges"]) == 1, body
        rng = body["ranges"][0]
        assert abs(ns(rng["start"]) - segs[0]["start_ns"]) < 2 * 10**6
        # The live edge: the range reaches past the last closed segment into
        # the one being written (at least one frame of it).
        assert ns(rng["end"]) > max(r["end_ns"] for r in before) + 30 * 10**6
        assert body["segments"] >= len(before) + 1
        assert body["gaps"][0]["end"] == rng["start"]
        for role in ("adam", "iwona"):
            assert recordings(d, d.bearer(role), cid)["segments"] >= len(before)

        cam = requests.get(d.url(f"/api/v1/cameras/{cid}"), headers=h, timeout=10).json()
        assert cam["recording"]["state"] == "recording", cam["recording"]
        assert cam["recording"]["segments"] >= 3
        metrics = requests.get(d.url("/metrics"), timeout=10).text
        m = re.search(r"^zaulek_recording_segments_total (\d+)$", metrics, re.M)
        assert m and int(m.group(1)) >= 3, metrics
        assert re.search(r"^zaulek_recording_cameras_recording 1$", metrics, re.M)

        # Bad input: clear errors naming the field.
        bad = requests.get(d.url(f"/api/v1/cameras/{cid}/recordings"), headers=h,
                           params={"from": "yesterday"}, timeout=10)
        assert bad.status_code == 400 and "'from'" in bad.json()["error"]["message"]
        bad = requests.get(d.url(f"/api/v1/cameras/{cid}/recordings"), headers=h,
                           params={"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
                           timeout=10)
        assert bad.status_code == 400
        missing = requests.get(d.url("/api/v1/cameras/nope/recordings"), headers=h, timeout=10)
        assert missing.status_code == 404

        # Recording off: the recorder stops, its open segment is closed and indexed.
        n_before = len(rows(d, cid))
        r = requests.patch(d.url(f"/api/v1/cameras/{cid}"), headers=h,
                           json={"recording": {"mode": "off"}}, timeout=10)
        assert r.status_code == 200, r.text
        wait_until("recording state off", lambda: camera(d, h, cid)["recording"]["state"] == "off",
                   30, step=0.2, detail=lambda: camera(d, h, cid)["recording"])
        after_off = wait_until("the open segment indexed", lambda: (
            r if len(r := rows(d, cid)) >= n_before + 1 else None), 1,
            detail=lambda: d.stderr()[-3000:])
        wait_until("no segment being written", lambda: not parts(d, cid), 2 * SEGMENT_S + 1)
        # Proof that nothing can be written any more: the camera has no RTSP
        # client left, and a later pass of the recording service (the one that
        # starts a second camera) left this one off.
        wait_until("the recorder's RTSP session ended",
                   lambda: sim.list_cameras()[0]["rtsp_clients"] == 0, 30)
        other = add_sim_camera(d, h, sim.cameras[1],
                               recording={"mode": "events", "retention_days": 7})
        wait_log(d, rf"recording {re.escape(other)}: starting")
        assert len(re.findall(rf"recording {re.escape(cid)}: starting", d.stderr())) == 1
        assert sim.list_cameras()[0]["rtsp_clients"] == 0
        assert len(rows(d, cid)) == len(after_off), "segments written with recording off"
        assert not parts(d, cid)
    code, _ = d.stop()
    assert code == 0
    log = d.stderr()
    assert PASSWORD not in log
    assert "recording: reconciliation done" in log


def test_events_mode_records_around_a_camera_event(make_daemon):
    """An events-mode camera writes nothing until the camera's own motion
    event (ONVIF PullPoint -> event service -> recorder), then footage from
    the keyframe before start - pre_event_s to stop + post_event_s."""
    pre_s, post_s = 2, 2
    d = make_daemon(extra_toml=config(f"pre_event_s = {pre_s}\npost_event_s = {post_s}\n"))
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        cid = add_sim_camera(d, h, sim.cameras[0],
                             recording={"mode": "events", "retention_days": 7})
        wait_log(d, rf"events {re.escape(cid)}: subscribed")
        wait_buffered(d, h, cid, pre_s + GOP_S + 0.5)
        assert rows(d, cid) == [], "events mode wrote before any event"
        assert not parts(d, cid), "events mode wrote before any event"
        start_ns = sim.post_event(0, "motion", True)["time_ns"]
        time.sleep(2)  # the event lasts 2 s: what is recorded, not a synchronization
        stop_ns = sim.post_event(0, "motion", False)["time_ns"]

        def to_stop_plus_post():
            segs = settled(d, cid)
            return segs if segs and segs[-1]["end_ns"] >= stop_ns + (post_s - 0.3) * 1e9 else None
        # Until the event's footage is closed: nothing is written any more and
        # every file has its row (so no later segment can join the last).
        segs = wait_until("footage to stop + post, closed and indexed", to_stop_plus_post, 60,
                          step=0.2, detail=lambda: rows(d, cid))
        first, last = segs[0]["start_ns"], segs[-1]["end_ns"]
        pre = (start_ns - first) / 1e9
        post = (last - stop_ns) / 1e9
        print(f"events mode: {len(segs)} segments, pre-event {pre:.2f} s, post-event {post:.2f} s")
        # From the keyframe at or before start - pre (one GOP more at most,
        # and a little for the sim's and the frames' clocks).
        assert pre_s - 0.3 <= pre <= pre_s + GOP_S + 0.5, pre
        # Until stop + post; the stop travels PullPoint -> zaulekd first.
        assert post_s - 0.3 <= post <= post_s + 1.5, post
        for a, b in zip(segs, segs[1:]):
            assert 0 <= b["start_ns"] - a["end_ns"] < 10**9, (a, b)
        check_segments_play(d, segs, "h264")


def test_h265_camera_is_recorded(make_daemon):
    d = make_daemon(extra_toml=config())
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD, h265=True) as sim:
        cid = add_sim_camera(d, h, sim.cameras[0])
        segs = wait_rows(d, cid, 2)
        for s in segs[:2]:
            assert s["codec"] == "h265"
            dur = (s["end_ns"] - s["start_ns"]) / 1e9
            assert SEGMENT_S - 0.1 <= dur <= SEGMENT_S + GOP_S + 0.1, s
        check_segments_play(d, segs[:2], "hevc")




def test_bframe_cameras_are_catalogued_by_their_frames(make_daemon):
    """zaulekd (native ingest) records a camera whose encoder uses B-frames
    (zaulek-sim --bframes: x264 3 B-frames with b-pyramid; x265 likewise)
    beside one without: each closed segment's catalogue duration is its
    frame count times the frame duration within one frame (B-frames once
    stretched 16 s of frames over 65 s of catalogue), segments do not
    overlap, and the catalogue never claims more time than passed."""
    frame_ns = 40_000_000  # the simulator's 25 fps
    d = make_daemon(extra_toml=config())
    h = admin_headers(d)
    for h265 in (False, True):
        with SimFleet(cameras=2, user=USER, password=PASSWORD, h265=h265,
                      extra_args=["--bframes", "0"]) as sim:
            assert [c["bframes"] for c in sim.cameras] == [True, False]
            began = time.time_ns()
            ids = [add_sim_camera(d, h, c) for c in sim.cameras]
            for cid in ids:
                segs = wait_rows(d, cid, 2)
                elapsed = time.time_ns() - began
                for s in segs:
                    info = ffprobe(storage(d) / s["path"])
                    assert info["codec"] == ("hevc" if h265 else "h264")
                    row = s["end_ns"] - s["start_ns"]
                    print(f"{cid} {s['path']}: {info['packets']} frames, row {row / 1e9:.3f} s")
                    assert abs(row - info["packets"] * frame_ns) <= frame_ns, (s, info)
                for a, b in zip(segs, segs[1:]):
                    assert b["start_ns"] >= a["end_ns"], (a, b)
                covered = sum(s["end_ns"] - s["start_ns"] for s in segs)
                assert covered <= elapsed, (covered, elapsed)
                assert segs[-1]["end_ns"] - segs[0]["start_ns"] <= elapsed
            for cid in ids:
                r = requests.delete(d.url(f"/api/v1/cameras/{cid}"), headers=h, timeout=10)
                assert r.status_code == 200, r.text
    code, _ = d.stop()
    assert code == 0


def shift_days(d, days):
    """Moves every segment row (and the kept ranges folded from them,
    storage/migrations/0012) and hold `days` into the past: as if that much
    time had passed (the daemon is stopped meanwhile)."""
    db = sqlite3.connect(storage(d) / "zaulek.db", timeout=10)
    try:
        with db:
            db.execute("UPDATE segments SET start_ns = start_ns - ?1, end_ns = end_ns - ?1",
                       (days * DAY_NS,))
            db.execute("UPDATE segment_ranges SET start_ns = start_ns - ?1, end_ns = end_ns - ?1",
                       (days * DAY_NS,))
            db.execute("UPDATE holds SET from_ns = from_ns - ?1, to_ns = to_ns - ?1",
                       (days * DAY_NS,))
    finally:
        db.close()


def test_hold_survives_retention(make_daemon):
    d = make_daemon(extra_toml=config() + "[retention]\nmax_age_days = 5\n")
    h = admin_headers(d)
    inv = d.bearer("iwona")
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        cid = add_sim_camera(d, h, sim.cameras[0])
        segs = wait_rows(d, cid, 3)
        r = requests.patch(d.url(f"/api/v1/cameras/{cid}"), headers=h,
                           json={"recording": {"mode": "off"}}, timeout=10)
        assert r.status_code == 200
        held = segs[1]
        hold_body = {"camera_id": cid, "from": iso(held["start_ns"] + 10**6),
                     "to": iso(held["end_ns"] - 10**6), "reason": "incident 2026/117, alley 4"}
        # Roles: an operator may not hold or list holds.
        op = requests.post(d.url("/api/v1/holds"), headers=d.bearer("olga"), json=hold_body,
                           timeout=10)
        assert op.status_code == 403
        # Bad input names the field.
        for field, value in (("from", "soon"), ("camera_id", "../x"), ("reason", "")):
            b = dict(hold_body, **{field: value})
            r = requests.post(d.url("/api/v1/holds"), headers=inv, json=b, timeout=10)
            assert r.status_code == 400, (field, r.text)
            assert field in r.json()["error"]["message"] or field == "camera_id", r.text
        r = requests.post(d.url("/api/v1/holds"), headers=inv,
                          json=dict(hold_body, camera_id="no-such-camera"), timeout=10)
        assert r.status_code == 404
        r = requests.post(d.url("/api/v1/holds"), headers=inv, json=hold_body, timeout=10)
        assert r.status_code == 201, r.text
        hold = r.json()
        assert hold["camera_id"] == cid and hold["created_by"] == "iwona"
        assert hold["reason"] == hold_body["reason"]
        listed = requests.get(d.url("/api/v1/holds"), headers=h, timeout=10).json()["holds"]
        assert [x["id"] for x in listed] == [hold["id"]]
        audit = requests.get(d.url("/api/v1/audit?limit=1000"), headers=h, timeout=10).json()
        adds = [e for e in audit["entries"] if e["action"] == "hold.add"]
        assert len(adds) == 1 and adds[0]["actor"] == "iwona"
        assert adds[0]["target"] == f"hold:{hold['id']}"
        # The recorder stopped (mode off): its last segment is indexed.
        wait_until("the recorder's last segment closed", lambda: not parts(d, cid), 30, step=0.2)
    code, _ = d.stop()
    assert code == 0
    before = rows(d, cid)
    assert len(before) >= 3
    assert held["id"] in [r["id"] for r in before]

    # Ten days later, past max_age_days = 5: the start-up retention pass
    # deletes everything of this camera except the held segment.
    shift_days(d, 10)
    d.start()
    wait_log(d, r"retention: pass in [0-9.]+ s: [1-9]\d* expired")
    after = rows(d, cid)
    print("before:", [(r["id"], r["path"]) for r in before], "after:",
          [(r["id"], r["path"]) for r in after])
    assert [r["id"] for r in after] == [held["id"]]
    assert (storage(d) / held["path"]).exists()
    assert ffprobe(storage(d) / held["path"])["packets"] > 0
    for r in before:
        if r["id"] != held["id"]:
            assert not (storage(d) / r["path"]).exists(), r
    h = admin_headers(d)
    shifted_from = before[0]["start_ns"] - 10 * DAY_NS - 60 * 10**9
    body = recordings(d, h, cid, **{"from": iso(shifted_from),
                                    "to": iso(shifted_from + 3600 * 10**9)})
    assert body["segments"] == 1 and len(body["ranges"]) == 1, body

    # Released: the next pass deletes it; both are audited.
    inv = d.bearer("iwona")
    r = requests.delete(d.url(f"/api/v1/holds/{hold['id']}"), headers=d.bearer("olga"), timeout=10)
    assert r.status_code == 403
    r = requests.delete(d.url(f"/api/v1/holds/{hold['id']}"), headers=inv, timeout=10)
    assert r.status_code == 200, r.text
    r = requests.delete(d.url(f"/api/v1/holds/{hold['id']}"), headers=inv, timeout=10)
    assert r.status_code == 404
    audit = requests.get(d.url("/api/v1/audit?limit=1000"), headers=h, timeout=10).json()
    assert [e["action"] for e in audit["entries"] if e["action"].startswith("hold.")] == [
        "hold.add", "hold.delete"]
    code, _ = d.stop()
    assert code == 0
    d.start()
    wait_log(d, r"retention: pass in [0-9.]+ s: [1-9]\d* expired", count=2)
    assert rows(d, cid) == []
    assert not (storage(d) / held["path"]).exists()


def wait_parts(d, ids, limit_s=60):
    """Until every camera has a segment being written with data in it."""
    def writing(cid):
        found = list((storage(d) / cid).glob("*.ts.part"))
        return found and max(p.stat().st_size for p in found) > 0
    wait_until("every camera writing a segment", lambda: all(writing(c) for c in ids), limit_s,
               step=0.1, detail=lambda: d.stderr()[-3000:])


def test_kill9_daemon_loses_at_most_a_second(make_daemon):
    rng = random.Random(int(os.environ.get("ZAULEK_RECORDING_KILL_SEED", str(time.time_ns()))))
    d = make_daemon(extra_toml=config())
    h = admin_headers(d)
    losses = []
    with SimFleet(cameras=KILL_CAMERAS, user=USER, password=PASSWORD) as sim:
        ids = [add_sim_camera(d, h, cam) for cam in sim.cameras]
        for trial in range(KILL_TRIALS):
            wait_parts(d, ids)
            # A random moment within a segment: what is under test, not a synchronization.
            time.sleep(rng.uniform(0.3, SEGMENT_S + GOP_S))
            kill_ns = time.time_ns()
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait(timeout=10)
            d._stderr.close()
            d.start()
            wait_log(d, r"recording: reconciliation done", count=trial + 2)
            for cid in ids:
                before_kill = [r for r in rows(d, cid) if r["start_ns"] < kill_ns]
                assert before_kill, f"trial {trial} {cid}: nothing recorded"
                last = max(before_kill, key=lambda r: r["end_ns"])
                assert last["state"] == "closed"
                # The end of the last frame on disk, minus one frame (25 fps).
                loss = (kill_ns - (last["end_ns"] - 40_000_000)) / 1e9
                losses.append(loss)
                print(f"trial {trial} {cid}: loss {loss:.3f} s (last segment {last['path']})")
                assert loss <= MAX_LOSS_S, f"trial {trial} {cid}: lost {loss:.3f} s"
                assert loss > -0.3, f"trial {trial} {cid}: footage after the kill ({loss:.3f} s)"
        wait_parts(d, ids)
    code, _ = d.stop()
    assert code == 0
    print(f"loss over {len(losses)} camera-trials: max {max(losses):.3f} s, "
          f"mean {sum(losses) / len(losses):.3f} s")
    log = d.stderr()
    assert "recovered segment" in log
    # Every file is finished, indexed and plays; every row has its file.
    all_rows = rows(d)
    by_path = {r["path"]: r for r in all_rows}
    for cid in ids:
        assert not list((storage(d) / cid).glob("*.part"))
        files = sorted((storage(d) / cid).glob("*.ts"))
        assert len(files) >= KILL_TRIALS + 1
        for f in files:
            rel = f"{cid}/{f.name}"
            assert rel in by_path, f"{rel} has no row"
            assert by_path[rel]["state"] == "closed"
            info = ffprobe(f)
            assert info["codec"] == "h264" and info["packets"] > 0, (f, info)
    for r in all_rows:
        assert (storage(d) / r["path"]).exists(), r


def test_disk_full_pauses_and_resumes(tmp_path, make_daemon):
    """The storage file system is a small tmpfs of the test's own; a ballast
    file fills it: writing pauses (recorder in backoff), the catalogue reserve
    is given back so that the storage event and alarm are stored on the full
    disk, the daemon serves on; the ballast goes: recording resumes by itself,
    the reserve is taken again; nothing earlier is damaged."""
    store = tmp_path / "d0" / "storage"  # where make_daemon's first daemon keeps its storage
    store.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", str(store)],
                   check=True, capture_output=True)
    d = None
    try:
        d = make_daemon(extra_toml=config("[retention]\nmin_free_percent = 0\n"),
                        storage={"catalog_reserve_mb": 4})
        assert d.dir / "storage" == store
        reserve = store / ".catalog-reserve"
        wait_until("the catalogue reserve taken", reserve.exists, 30, step=0.2)
        assert reserve.stat().st_size == 4 << 20
        h = admin_headers(d)
        with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
            cid = add_sim_camera(d, h, sim.cameras[0])
            wait_rows(d, cid, 2)
            st = os.statvfs(store)
            free = st.f_bavail * st.f_frsize
            ballast = store / "ballast"
            fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.posix_fallocate(fd, 0, free - 256 * 1024)
            finally:
                os.close(fd)

            def log_tail():
                return d.stderr()[-3000:]
            wait_until("'No space left on device' in the log",
                       lambda: "No space left on device" in d.stderr(), 60, step=0.2,
                       detail=log_tail)
            wait_until("the recorder in backoff",
                       lambda: d.metric("zaulek_recording_cameras_backoff") >= 1, 30, step=0.2)
            assert d.metric("zaulek_recording_cameras_backoff") == 1
            # ... gives the reserve back and stores a storage health event and alarm.

            def storage_event():
                evs = requests.get(d.url("/api/v1/events"), headers=h,
                                   params={"camera": cid}, timeout=10).json()["events"]
                return [e for e in evs if e["topic"] == "zaulek:Health/Storage"
                        and e["state"] == "start"]
            storage_events = wait_until("a storage health event", storage_event, 30, step=0.2,
                                        detail=log_tail)
            assert "No space left" in storage_events[0]["data"]["reason"]
            assert not reserve.exists()
            assert "catalogue reserve of 4 MiB released" in d.stderr()
            wait_until("a health alarm", lambda: [
                a for a in requests.get(d.url("/api/v1/alarms"), headers=h,
                                        timeout=10).json()["alarms"]
                if a["kind"] == "health" and a["camera_id"] == cid], 30, step=0.2,
                detail=log_tail)
            # The daemon serves on while the disk is full.
            assert requests.get(d.url("/healthz"), timeout=10).status_code == 200
            assert d.proc.poll() is None
            # Every segment the recorder closed before its backoff has been
            # handled by the catalogue (indexed, or counted as not indexable):
            # no row from before the full disk can arrive after the snapshot.
            wait_until("the catalogue caught up with the recorder", lambda: (
                d.metric("zaulek_recording_segments_total")
                + d.metric("zaulek_recording_index_failures_total")
                >= camera(d, h, cid)["recording"]["segments"]), 30, step=0.2)
            full_rows = rows(d, cid)
            full_files = sorted((store / cid).glob("*.ts"))
            print(f"disk full: {len(full_rows)} rows, {len(full_files)} files")
            ballast.unlink()
            # Back by itself within the capped backoff (30 s) plus a segment.
            t0 = time.monotonic()
            full_end = max(x["end_ns"] for x in full_rows)
            resumed = wait_until("a segment after the disk had room again", lambda: [
                r for r in rows(d, cid) if r["start_ns"] > full_end], 120, step=0.5,
                detail=log_tail)
            print(f"resumed after {time.monotonic() - t0:.1f} s: {len(resumed)} new segments")
            assert d.metric("zaulek_recording_cameras_recording") == 1
            wait_until("the reserve taken again", reserve.exists, 30, step=0.2)
            assert reserve.stat().st_size == 4 << 20, "the reserve was not taken again"
        code, _ = d.stop()
        assert code == 0
        # Restart: reconciliation indexes whatever could not get a row while
        # the disk was full; then every file has a row, every row a file, and
        # all play. Nothing empty was left behind.
        d.start()
        wait_log(d, r"recording: reconciliation done", count=2)
        code, _ = d.stop()
        assert code == 0
        all_rows = {r["path"]: r for r in rows(d, cid)}
        files = sorted((store / cid).glob("*.ts"))
        assert not list((store / cid).glob("*.part"))
        assert {f"{cid}/{f.name}" for f in files} == set(all_rows)
        for f in files:
            r = all_rows[f"{cid}/{f.name}"]
            assert f.stat().st_size == r["bytes"] > 0, (f, r)
            assert ffprobe(f)["packets"] > 0, f
    finally:
        if d is not None and d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        subprocess.run(["umount", "-l", str(store)], capture_output=True)
