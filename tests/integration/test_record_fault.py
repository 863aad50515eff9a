"""One camera's fault never stops another: of two sources, one is killed; the
other records on, and the dead one's recorder reconnects (with backoff) when its
source comes back on the same port. The outage is a gap between segments."""
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import recordlib  # noqa: E402

SLACK_NS = 500_000_000


def collect(rec, segments, until, stop=None):
    """Reads segment lines into segments until time.monotonic() >= until or stop(seg)."""
    while time.monotonic() < until:
        seg = recordlib.read_json_line(rec, max(0.05, until - time.monotonic()))
        if seg is None:
            continue
        segments.append(seg)
        if stop and stop(seg):
            return True
    return False


def test_one_source_dies_other_records_dead_one_reconnects(tmp_path):
    a = recordlib.Source(mounts=1)
    b = recordlib.Source(mounts=1)
    b_port = b.port
    rec = recordlib.start_recorder(
        tmp_path, [f"a={a.urls[0]}", f"b={b.urls[0]}"], "--segment-seconds", "1",
        "--stall-ms", "2000", "--backoff-ms", "300", "--backoff-max-ms", "1000", "--stats")
    segments = []
    try:
        # Both record.
        assert collect(rec, segments, time.monotonic() + 20,
                       lambda s: {x["camera"] for x in segments} == {"a", "b"})
        b.kill()
        kill_ns = time.time_ns()
        # A keeps recording while B is gone.
        collect(rec, segments, time.monotonic() + 5)
        a_after = [s for s in segments if s["camera"] == "a" and s["start_ns"] > kill_ns]
        assert len(a_after) >= 3, "camera a stopped recording when b died"
        # Frame times come from the source's sender reports, up to ~0.1 s
        # ahead of our clock (docs/design/time.md): 0.5 s of slack.
        b_during = [s for s in segments
                    if s["camera"] == "b" and s["start_ns"] > kill_ns + SLACK_NS]
        assert b_during == [], "camera b recorded while its source was dead"
        # B's source returns on the same port; the recorder reconnects.
        b = recordlib.Source(mounts=1, port=b_port)
        back_ns = time.time_ns()
        assert collect(rec, segments, time.monotonic() + 30,
                       lambda s: s["camera"] == "b" and s["start_ns"] > back_ns), \
            "camera b did not reconnect"
        rec.send_signal(signal.SIGINT)
        collect(rec, segments, time.monotonic() + 10)
        assert rec.wait(timeout=20) == 0
    finally:
        if rec.poll() is None:
            rec.kill()
            rec.wait()
        a.stop()
        b.stop()
    b_segs = sorted((s for s in segments if s["camera"] == "b"), key=lambda s: s["start_ns"])
    before = [s for s in b_segs if s["start_ns"] < kill_ns + SLACK_NS]
    after = [s for s in b_segs if s["start_ns"] > back_ns - SLACK_NS]
    assert before and after
    # The outage is a gap: footage before the kill ends by the kill, footage
    # after starts after the source came back.
    assert before[-1]["end_ns"] <= kill_ns + SLACK_NS
    assert after[0]["start_ns"] >= back_ns - SLACK_NS
    # A never had a gap longer than a frame or two.
    a_segs = sorted((s for s in segments if s["camera"] == "a"), key=lambda s: s["start_ns"])
    for prev, seg in zip(a_segs, a_segs[1:]):
        assert seg["start_ns"] - prev["end_ns"] < 200_000_000, (prev, seg)
    for seg in segments:
        info = recordlib.ffprobe(seg["path"])
        assert info["frames"] == seg["frames"], (seg, info)


def test_stalled_source_is_detected_and_recording_resumes(tmp_path):
    """SIGSTOP freezes a source with its TCP connection open (no data, no
    error): the stall watchdog rebuilds the pipeline; after SIGCONT the camera
    records again. The other camera is unaffected throughout."""
    a = recordlib.Source(mounts=1)
    b = recordlib.Source(mounts=1)
    rec = recordlib.start_recorder(
        tmp_path, [f"a={a.urls[0]}", f"b={b.urls[0]}"], "--segment-seconds", "1",
        "--stall-ms", "2000", "--backoff-ms", "300", "--backoff-max-ms", "1000")
    segments = []
    try:
        assert collect(rec, segments, time.monotonic() + 20,
                       lambda s: {x["camera"] for x in segments} == {"a", "b"})
        b.proc.send_signal(signal.SIGSTOP)
        stop_ns = time.time_ns()
        collect(rec, segments, time.monotonic() + 6)
        # The stall closed b's open segment (reported, ending by the stop).
        b_closed = [s for s in segments if s["camera"] == "b"]
        assert b_closed[-1]["end_ns"] <= stop_ns + SLACK_NS
        assert not [s for s in segments
                    if s["camera"] == "b" and s["start_ns"] > stop_ns + SLACK_NS]
        assert len([s for s in segments if s["camera"] == "a" and s["start_ns"] > stop_ns]) >= 4
        b.proc.send_signal(signal.SIGCONT)
        cont_ns = time.time_ns()
        assert collect(rec, segments, time.monotonic() + 30,
                       lambda s: s["camera"] == "b" and s["start_ns"] > cont_ns), \
            "camera b did not resume after the stall"
        rec.send_signal(signal.SIGINT)
        collect(rec, segments, time.monotonic() + 10)
        assert rec.wait(timeout=20) == 0
    finally:
        if b.proc.poll() is None:
            b.proc.send_signal(signal.SIGCONT)
        if rec.poll() is None:
            rec.kill()
            rec.wait()
        a.stop()
        b.stop()
    for seg in segments:
        assert recordlib.ffprobe(seg["path"])["frames"] == seg["frames"]


def test_resolution_change_starts_a_new_segment(tmp_path):
    """The source comes back with another resolution: the segments after it
    carry the new size, and no file mixes the two."""
    src = recordlib.Source(mounts=1, width=320, height=240)
    port = src.port
    rec = recordlib.start_recorder(tmp_path, [f"c={src.urls[0]}"], "--segment-seconds", "1",
                                   "--backoff-ms", "300", "--backoff-max-ms", "1000")
    segments = []
    try:
        assert collect(rec, segments, time.monotonic() + 20, lambda s: True)
        src.kill()
        src = recordlib.Source(mounts=1, width=352, height=288, port=port)
        assert collect(rec, segments, time.monotonic() + 30, lambda s: s["width"] == 352)
        rec.send_signal(signal.SIGINT)
        collect(rec, segments, time.monotonic() + 10)
        rec.wait(timeout=20)
    finally:
        if rec.poll() is None:
            rec.kill()
            rec.wait()
        src.stop()
    sizes = [(s["width"], s["height"]) for s in segments]
    assert (320, 240) in sizes and (352, 288) in sizes
    for seg in segments:
        info = recordlib.ffprobe(seg["path"])
        assert (info["width"], info["height"]) == (seg["width"], seg["height"]), (seg, info)
