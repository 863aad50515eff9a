"""Evidence export jobs (#20) on the paths test_export.py does not walk, with
the real zaulekd recording zaulek-sim: the full queue (503 with Retry-After),
a queued and a running job deleted (work files gone, hold released,
audited), expiry after export.keep_days (the rows' finished time moved back
while the daemon is stopped, as test_recording_daemon moves footage: no
waiting days), the disk full under the export folder (a tmpfs of the
test's own), the export's hold found by its id (a hand-made hold with the
same words in its reason is not the export's), the list paged in the query
for a user who sees some cameras, and an export to the live edge reading the
segment being written."""
import hashlib
import json
import os
import sqlite3
import subprocess
import threading
import time
import zipfile

import pytest
import requests

from camera_helpers import FAST_CAMERAS_TOML, admin_headers, enter_netns, wait_log
from simfleet import SimFleet
from test_export import (FRAME_S, PASSWORD, REASON, USER, add_sim_camera, download, export,
                         ffprobe, finished, ns, recorded, rfc, verify)
from zaulekd_fixture import run_cli, wait_until

enter_netns()

DAY_NS = 86_400 * 10**9
SEGMENT_S = 5


def config(export_toml="", segment_s=SEGMENT_S):
    return (FAST_CAMERAS_TOML + "\n[discovery]\ninterfaces = []\n"
            f"[recording]\nsegment_seconds = {segment_s}\n[export]\n{export_toml}\n")


def get_export(d, h, eid):
    return requests.get(d.url(f"/api/v1/exports/{eid}"), headers=h, timeout=10)


def holds(d, h):
    r = requests.get(d.url("/api/v1/holds"), headers=h, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["holds"]


def audit(d, h):
    r = requests.get(d.url("/api/v1/audit?limit=1000"), headers=h, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def exports_folder(d):
    return d.dir / "storage" / ".exports"


class Fifo:
    """A FIFO in place of a recorded segment: a job that reaches it blocks
    in open(2) until release() (a writer that opens and closes: end of file),
    so it stays running for as long as the test needs, without a timer.
    restore() puts the segment's bytes back."""

    def __init__(self, path):
        self.path = path
        self.saved = path.read_bytes()
        path.unlink()
        os.mkfifo(path)

    def release(self):
        """End of file for the readers waiting in open(2) now (none: ENXIO,
        nothing to do); a reader that comes later waits for the next call."""
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass

    def restore(self):
        self.path.unlink()
        self.path.write_bytes(self.saved)


def test_queue_full_and_deleting_queued_and_running_jobs(make_daemon):
    d = make_daemon(extra_toml=config("max_queued = 1\nmax_concurrent = 1"))
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        (a,) = [add_sim_camera(d, h, c) for c in sim.cameras]
        start, _ = recorded(d, h, a, 12)
        iwona = d.bearer("iwona")
        segs = sorted((d.dir / "storage" / a).glob("*.ts"))
        assert len(segs) >= 2, segs
        before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in segs}
        # The job remuxes the first segment, then blocks on the second.
        fifo = Fifo(segs[1])
        try:
            running = export(d, iwona, a, start, start + 8_000_000_000)
            mp4_part = exports_folder(d) / f"{running}.zip.part"
            wait_until("the running job's package begun", mp4_part.exists, 30,
                       detail=lambda: d.stderr()[-3000:])
            assert get_export(d, iwona, running).json()["state"] == "running"
            # One may wait; the next is refused with Retry-After.
            queued = export(d, iwona, a, start, start + 1_000_000_000)
            assert get_export(d, iwona, queued).json()["state"] == "queued"
            body = {"camera_id": a, "from": rfc(start), "to": rfc(start + 10**9),
                    "reason": REASON}
            r = requests.post(d.url("/api/v1/exports"), headers=iwona, json=body, timeout=10)
            assert r.status_code == 503, r.text
            assert int(r.headers["Retry-After"]) > 0
            assert r.json()["error"]["code"] == "unavailable"
            assert "waiting" in r.json()["error"]["message"], r.text
            # The refused one left nothing behind: no row, no hold.
            listed = requests.get(d.url("/api/v1/exports"), headers=iwona, timeout=10).json()
            assert [x["id"] for x in listed["exports"]] == [queued, running]
            held = {x["id"] for x in holds(d, iwona)}
            ids = {x["id"]: x["hold_id"] for x in listed["exports"]}
            assert held == set(ids.values()) and None not in held, (held, ids)

            # Deleting the queued job: gone with its hold; room again.
            r = requests.delete(d.url(f"/api/v1/exports/{queued}"), headers=iwona, timeout=30)
            assert r.status_code == 200, r.text
            assert get_export(d, iwona, queued).status_code == 404
            assert ids[queued] not in {x["id"] for x in holds(d, iwona)}
            third = export(d, iwona, a, start, start + 1_000_000_000)
            r = requests.delete(d.url(f"/api/v1/exports/{third}"), headers=iwona, timeout=30)
            assert r.status_code == 200, r.text

            # Deleting the running job: the request waits for the worker,
            # which stops at its next read (here: once the FIFO opens).
            answer = {}
            deleting = threading.Thread(target=lambda: answer.update(r=requests.delete(
                d.url(f"/api/v1/exports/{running}"), headers=iwona, timeout=60)))
            deleting.start()
            wait_log(d, rf"export: {running} is running; cancelling it", timeout=30)
            assert deleting.is_alive()  # still waiting for the worker
            wait_until("the deletion answered", lambda: (fifo.release(), "r" in answer)[1], 60)
            deleting.join(10)
            assert answer["r"].status_code == 200, answer["r"].text
        finally:
            fifo.release()
            fifo.restore()
        wait_log(d, rf"export: {running} failed: the export was deleted while it ran")
        assert get_export(d, iwona, running).status_code == 404
        left = sorted(p.name for p in exports_folder(d).iterdir())
        assert not [n for n in left if n.startswith(f"{running}.")], left
        assert ids[running] not in {x["id"] for x in holds(d, iwona)}
        entries = audit(d, h)
        deletes = {e["target"]: e["detail"] for e in entries if e["action"] == "export.delete"}
        assert deletes[f"export:{running}"]["state"] == "running", deletes
        assert deletes[f"export:{queued}"]["state"] == "queued", deletes
        # Nothing of the recording was touched.
        for p in segs:
            assert hashlib.sha256(p.read_bytes()).hexdigest() == before[p.name], p
        # And the service goes on: a job after them runs to the end.
        eid = export(d, iwona, a, start, start + 3_000_000_000)
        assert finished(d, iwona, eid)["state"] == "done"


def shift_finished(d, ids, days):
    """Moves the exports' finished time `days` into the past (zaulekd stopped)."""
    db = sqlite3.connect(d.dir / "storage" / "zaulek.db", timeout=10)
    try:
        with db:
            for eid in ids:
                db.execute("UPDATE exports SET finished_ns = finished_ns - ?1 WHERE id = ?2",
                           (days * DAY_NS, eid))
    finally:
        db.close()


def test_expiry_after_keep_days(make_daemon):
    d = make_daemon(extra_toml=config("keep_days = 1"))
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        (a,) = [add_sim_camera(d, h, c) for c in sim.cameras]
        start, _ = recorded(d, h, a, 8)
        iwona = d.bearer("iwona")
        r1 = (start, start + 2_000_000_000)
        r2 = (start + 3_000_000_000, start + 5_000_000_000)
        # Two exports of the same range (each other's holds keep neither),
        # one under an investigator's hold for a case, one recent.
        twins = [export(d, iwona, a, *r1), export(d, iwona, a, *r1)]
        cased = export(d, iwona, a, *r2)
        recent = export(d, iwona, a, *r2)
        jobs = {e: finished(d, iwona, e) for e in twins + [cased, recent]}
        assert all(j["state"] == "done" for j in jobs.values()), jobs
        case = requests.post(d.url("/api/v1/holds"), headers=iwona, timeout=10,
                             json={"camera_id": a, "from": rfc(r2[0] - 10**9),
                                   "to": rfc(r2[1] + 10**9), "reason": "Sprawa RSD-21/2026"})
        assert case.status_code == 201, case.text
        case = case.json()
    code, _ = d.stop()
    assert code == 0
    shift_finished(d, twins + [cased], 2)
    d.start()
    for e in twins:
        wait_log(d, rf"export: {e} expired")
    h, iwona = admin_headers(d), d.bearer("iwona")
    for e in twins:
        assert get_export(d, iwona, e).status_code == 404
        assert not (exports_folder(d) / f"{e}.zip").exists()
    left = {x["id"] for x in holds(d, iwona)}
    assert not left & {jobs[e]["hold_id"] for e in twins}, left
    # Kept: the one under the case's hold (its own hold too), the recent one.
    for e in (cased, recent):
        assert get_export(d, iwona, e).json()["state"] == "done"
        assert (exports_folder(d) / f"{e}.zip").exists()
        assert jobs[e]["hold_id"] in left
    assert case["id"] in left
    expired = [e for e in audit(d, h) if e["action"] == "export.expire"]
    assert sorted(e["target"] for e in expired) == sorted(f"export:{e}" for e in twins)
    assert all(e["actor"] == "system" for e in expired), expired
    # The case closed: at the next start its export goes too.
    r = requests.delete(d.url(f"/api/v1/holds/{case['id']}"), headers=iwona, timeout=10)
    assert r.status_code == 200, r.text
    code, _ = d.stop()
    assert code == 0
    d.start()
    wait_log(d, rf"export: {cased} expired")
    iwona = d.bearer("iwona")
    assert get_export(d, iwona, cased).status_code == 404
    assert get_export(d, iwona, recent).json()["state"] == "done"


def test_disk_full_under_the_export_folder(make_daemon, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs for the export folder needs root")
    folder = tmp_path / "exports"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(folder)],
                   check=True, capture_output=True)
    d = None
    try:
        d = make_daemon(extra_toml=config(f'folder = "{folder}"'))
        h = admin_headers(d)
        with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
            (a,) = [add_sim_camera(d, h, c) for c in sim.cameras]
            start, _ = recorded(d, h, a, 12)
            iwona = d.bearer("iwona")
            segs = sorted((d.dir / "storage" / a).glob("*.ts"))
            before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in segs}
            assert sum(p.stat().st_size for p in segs[:2]) > 2 << 20, "the footage fits the tmpfs"
            eid = export(d, iwona, a, start, start + 10_000_000_000)
            job = finished(d, iwona, eid)
            assert job["state"] == "failed", job
            assert "No space left on device" in job["error"], job
            assert str(folder / f"{eid}.zip.part") in job["error"], job
            # Its work files are gone: the folder is empty again.
            assert list(folder.iterdir()) == []
            assert job["hold_id"] in {x["id"] for x in holds(d, iwona)}
            # Nothing of the recording harmed; it goes on recording.
            for p in segs:
                assert hashlib.sha256(p.read_bytes()).hexdigest() == before[p.name], p
            rows = requests.get(d.url(f"/api/v1/cameras/{a}/recordings"), headers=iwona,
                                timeout=10).json()
            assert rows["segments"] >= len(segs)
            r = requests.get(d.url("/healthz"), timeout=10)
            assert r.status_code == 200
            # A package that fits is written there.
            small = export(d, iwona, a, start, start + 200_000_000)
            job = finished(d, iwona, small)
            assert job["state"] == "done", job
            assert (folder / f"{small}.zip").exists()
    finally:
        if d is not None:
            d.stop()
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_hold_by_id_not_by_reason(make_daemon):
    d = make_daemon(extra_toml=config())
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        (a,) = [add_sim_camera(d, h, c) for c in sim.cameras]
        start, _ = recorded(d, h, a, 4)
        iwona = d.bearer("iwona")
        # A reason of 1024 bytes (the most a request may give; Polish
        # letters are two bytes) still places the hold, cut on a character.
        long_reason = "ą" * 512
        eid = export(d, iwona, a, start, start + 10**9, reason=long_reason)
        job = finished(d, iwona, eid)
        assert job["state"] == "done", job
        mine = [x for x in holds(d, iwona) if x["id"] == job["hold_id"]]
        assert len(mine) == 1, job
        assert mine[0]["reason"].startswith(f"export {eid}: ąą")
        assert len(mine[0]["reason"].encode()) <= 1024
        # A hold made by hand whose words look like the export's.
        r = requests.post(d.url("/api/v1/holds"), headers=iwona, timeout=10,
                          json={"camera_id": a, "from": rfc(start), "to": rfc(start + 10**9),
                                "reason": f"export {eid}: kopia dla prokuratury"})
        assert r.status_code == 201, r.text
        lookalike = r.json()["id"]
        r = requests.delete(d.url(f"/api/v1/exports/{eid}"), headers=iwona, timeout=30)
        assert r.status_code == 200, r.text
        left = {x["id"] for x in holds(d, iwona)}
        assert job["hold_id"] not in left and lookalike in left, left
        # An export whose hold was released by hand has none; deleting it works.
        eid = export(d, iwona, a, start, start + 10**9)
        job = finished(d, iwona, eid)
        r = requests.delete(d.url(f"/api/v1/holds/{job['hold_id']}"), headers=iwona, timeout=10)
        assert r.status_code == 200, r.text
        assert get_export(d, iwona, eid).json()["hold_id"] is None
        r = requests.delete(d.url(f"/api/v1/exports/{eid}"), headers=iwona, timeout=30)
        assert r.status_code == 200, r.text
        assert lookalike in {x["id"] for x in holds(d, iwona)}


def test_list_pages_are_full_for_a_user_who_sees_some_cameras(make_daemon):
    d = make_daemon(extra_toml=config())
    h = admin_headers(d)
    with SimFleet(cameras=2, user=USER, password=PASSWORD) as sim:
        a, b = [add_sim_camera(d, h, c) for c in sim.cameras]
        r = run_cli(["--config", str(d.config_path), "user", "add", "ines", "--role",
                     "investigator", "--cameras", b], stdin_text="Ines-Secret-0d9c11\n")
        assert r.returncode == 0, r.stderr
        d.passwords["ines"] = "Ines-Secret-0d9c11"
        iwona, ines = d.bearer("iwona"), d.bearer("ines")
        # No footage an hour ago: each job fails at once; its row stays.
        now = time.time_ns()
        ids = {a: [], b: []}
        for i in range(9):
            cam = (a, a, b)[i % 3]
            ids[cam].append(export(d, iwona, cam, now - 3600 * 10**9,
                                   now - 3600 * 10**9 + (i + 1) * 10**9))
        for e in ids[a] + ids[b]:
            finished(d, iwona, e)
        pages, before = [], None
        for _ in range(5):  # bounded: 3 of b's, pages of 2
            q = "/api/v1/exports?limit=2" + (f"&before={before}" if before else "")
            page = requests.get(d.url(q), headers=ines, timeout=10).json()
            pages.append([x["id"] for x in page["exports"]])
            assert all(x["camera_id"] == b for x in page["exports"]), page
            before = page["next_before"]
            if before is None:
                break
        newest_first = list(reversed(ids[b]))
        assert pages[0] == newest_first[:2], pages
        assert [e for p in pages for e in p] == newest_first, pages
        assert before is None
        # The administrator's pages hold every camera's.
        page = requests.get(d.url("/api/v1/exports?limit=4"), headers=h, timeout=10).json()
        assert len(page["exports"]) == 4 and page["next_before"] == page["exports"][-1]["id"]
        # A camera ines may not see is an empty list, as before.
        page = requests.get(d.url(f"/api/v1/exports?camera={a}"), headers=ines,
                            timeout=10).json()
        assert page == {"exports": [], "next_before": None}


def test_export_to_the_live_edge_reads_the_segment_being_written(make_daemon, tmp_path):
    # Segments of 60 s: the first is still being written when the export runs.
    d = make_daemon(extra_toml=config(segment_s=60))
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        (a,) = [add_sim_camera(d, h, c) for c in sim.cameras]
        start, edge = recorded(d, h, a, 10)
        iwona = d.bearer("iwona")
        assert not list((d.dir / "storage" / a).glob("*.ts")), "no segment closed yet"
        parts = list((d.dir / "storage" / a).glob("*.ts.part"))
        assert len(parts) == 1, parts
        t0, t1 = edge - 6_000_000_000, edge
        eid = export(d, iwona, a, t0, t1)
        job = finished(d, iwona, eid)
        assert job["state"] == "done", job
        zpath = download(d, iwona, eid, tmp_path / f"{eid}.zip")
        v = verify(zpath)
        assert v.returncode == 0, v.stdout + v.stderr
        with zipfile.ZipFile(zpath) as z:
            manifest = json.loads(z.read("manifest.json"))
            z.extract(f"{eid}.mp4", tmp_path)
        print("delivered", manifest["delivered"], "asked", rfc(t0), rfc(t1))
        assert ns(manifest["delivered"]["from"]) == t0
        assert ns(manifest["delivered"]["to"]) == t1
        # The segment is named as it will be once closed; its bytes and
        # SHA-256 are those read, a prefix of the file as it grows.
        (seg,) = manifest["segments"]
        assert seg["path"] == f"{a}/{parts[0].name[:-len('.part')]}"
        store = d.dir / "storage"
        path = store / seg["path"]
        data = (path if path.exists() else store / (seg["path"] + ".part")).read_bytes()
        assert 0 < seg["bytes"] <= len(data)
        assert hashlib.sha256(data[:seg["bytes"]]).hexdigest() == seg["sha256"]
        info = ffprobe(tmp_path / f"{eid}.mp4")
        dur = float(info["format"]["duration"])
        print(f"live edge export: {dur:.3f} s, {len(info['frames'])} frames")
        assert abs(dur - 6.0) <= FRAME_S, dur
        assert 6.0 / FRAME_S - 1 <= len(info["frames"]) <= 6.0 / FRAME_S + 1


def test_source_deleted_behind_the_catalogues_back_mid_range(make_daemon):
    d = make_daemon(extra_toml=config())
    h = admin_headers(d)
    with SimFleet(cameras=1, user=USER, password=PASSWORD) as sim:
        (a,) = [add_sim_camera(d, h, c) for c in sim.cameras]
        start, _ = recorded(d, h, a, 20)
        iwona = d.bearer("iwona")
        segs = sorted((d.dir / "storage" / a).glob("*.ts"))
        assert len(segs) >= 3, segs
        rows_before = requests.get(d.url(f"/api/v1/cameras/{a}/recordings"), headers=iwona,
                                   timeout=10).json()
        # The second of three: the MP4 is begun from the first when the job
        # finds the second gone.
        victim = segs[1]
        kept = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in segs if p != victim}
        victim.unlink()
        eid = export(d, iwona, a, start, start + 14_000_000_000)
        job = finished(d, iwona, eid)
        assert job["state"] == "failed", job
        assert f"{a}/{victim.name}" in job["error"] and "cannot be read" in job["error"], job
        assert [p.name for p in exports_folder(d).iterdir()] == []  # work files removed
        assert job["hold_id"] in {x["id"] for x in holds(d, iwona)}  # until deleted
        # Nothing else touched: the other files, the catalogue's rows.
        for name, digest in kept.items():
            assert hashlib.sha256((victim.parent / name).read_bytes()).hexdigest() == digest
        rows = requests.get(d.url(f"/api/v1/cameras/{a}/recordings"), headers=iwona,
                            timeout=10).json()
        assert rows["segments"] >= rows_before["segments"]
        # A range without the missing file exports.
        first_end = start + 2_000_000_000
        eid = export(d, iwona, a, start, first_end)
        assert finished(d, iwona, eid)["state"] == "done"
