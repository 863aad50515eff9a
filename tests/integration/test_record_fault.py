"""One camera's fault never stops another: of two sources, one is killed; the
other records on, and the dead one's recorder reconnects (with backoff) when its
source comes back on the same port. The outage is a gap between segments."""
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import recordlib  # noqa: E402


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
        b_during = [s for s in segments if s["camera"] == "b" and s["start_ns"] > kill_ns]
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
    before = [s for s in b_segs if s["start_ns"] < kill_ns]
    after = [s for s in b_segs if s["start_ns"] > kill_ns]
    assert before and after
    # The outage is a gap: footage before the kill ends by the kill, footage
    # after starts after the source came back.
    assert before[-1]["end_ns"] <= kill_ns + 20_000_000
    assert after[0]["start_ns"] >= back_ns - 20_000_000
    # A never had a gap longer than a frame or two.
    a_segs = sorted((s for s in segments if s["camera"] == "a"), key=lambda s: s["start_ns"])
    for prev, seg in zip(a_segs, a_segs[1:]):
        assert seg["start_ns"] - prev["end_ns"] < 200_000_000, (prev, seg)
    for seg in segments:
        info = recordlib.ffprobe(seg["path"])
        assert info["frames"] == seg["frames"], (seg, info)
