"""Event-triggered recording: with --mode events nothing is written until an
event; then the pre-buffer (from the keyframe before start - pre) and the
footage up to stop + post make one segment. --mode off writes nothing."""
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import recordlib  # noqa: E402
from zaulekd_fixture import wait_until  # noqa: E402

PRE_S = 2.0
POST_S = 1.5
GOP_S = 1.0  # the source's keyframe interval (25 frames at 25 fps)


def recorder(out, url, *extra):
    """zaulek-record for cam0=url, its log (debug) in out/record.log."""
    log = open(out / "record.log", "wb")
    try:
        return subprocess.Popen([recordlib.recorder_bin(), "--out", str(out), "--log-level",
                                 "debug", *extra, f"cam0={url}"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=log, text=True)
    finally:
        log.close()


def log_of(out):
    return (out / "record.log").read_text(errors="replace")


def wait_log(out, text, count=1):
    wait_until(f"{count}x {text!r} in zaulek-record's log", lambda: log_of(out).count(text) >= count,
               30, detail=lambda: log_of(out)[-3000:])


def wait_playing(out):
    """Until the recorder's RTSP session plays: frames arrive from now on."""
    wait_log(out, "camera cam0: native ingest playing")


def files(out):
    return sorted((out / "cam0").glob("*")) if (out / "cam0").exists() else []


def test_event_writes_pre_event_and_post_event_footage(tmp_path):
    src = recordlib.Source(mounts=1, gop=25)
    rec = recorder(tmp_path, src.urls[0], "--mode", "events", "--pre-ms", str(int(PRE_S * 1000)),
                   "--post-ms", str(int(POST_S * 1000)), "--segment-seconds", "60")
    try:
        wait_playing(tmp_path)
        # The pre-event buffer fills with footage, which only time makes:
        # what is under test (pre + one GOP), not a synchronization.
        time.sleep(PRE_S + GOP_S + 0.5)
        assert files(tmp_path) == [], "events mode wrote before any event"
        start_ns = time.time_ns()
        rec.stdin.write("event cam0 start\n")
        rec.stdin.flush()
        time.sleep(2)  # the event lasts 2 s: the input under test, not a synchronization
        stop_ns = time.time_ns()
        rec.stdin.write("event cam0 stop\n")
        rec.stdin.flush()
        seg = recordlib.read_json_line(rec, 15)
        assert seg is not None, "no segment after the event"
        # Nothing more until the next event.
        assert recordlib.read_json_line(rec, 3) is None
        rec.stdin.close()
        rec.send_signal(signal.SIGINT)
        assert rec.wait(timeout=20) == 0
    finally:
        if rec.poll() is None:
            rec.kill()
            rec.wait()
        src.stop()
    print("event", start_ns, stop_ns, "segment", seg)
    pre = (start_ns - seg["start_ns"]) / 1e9
    post = (seg["end_ns"] - stop_ns) / 1e9
    print(f"pre-event footage {pre:.2f} s, post-event footage {post:.2f} s")
    # From the keyframe at or before start - pre: between pre and pre + one GOP
    # (plus a little for the latency between our clock and the frame times).
    assert PRE_S - 0.3 <= pre <= PRE_S + GOP_S + 0.3, pre
    # Up to stop + post (the tick that closes runs every 250 ms).
    assert POST_S - 0.3 <= post <= POST_S + 0.8, post
    info = recordlib.ffprobe(seg["path"])
    assert info["frames"] == seg["frames"] and info["frames"] > 0
    assert recordlib.decodes(seg["path"])
    assert [f.name for f in files(tmp_path)] == [Path(seg["path"]).name]


def test_mode_off_writes_nothing(tmp_path):
    src = recordlib.Source(mounts=1)
    rec = recorder(tmp_path, src.urls[0], "--mode", "off", "--stats", "--duration", "5")
    try:
        assert recordlib.read_json_line(rec, 15) is None
        assert rec.wait(timeout=20) == 0
    finally:
        if rec.poll() is None:
            rec.kill()
            rec.wait()
        src.stop()
    assert files(tmp_path) == []


def test_bad_event_lines_are_ignored(tmp_path):
    src = recordlib.Source(mounts=1)
    rec = recorder(tmp_path, src.urls[0], "--mode", "events", "--post-ms", "500")
    try:
        wait_playing(tmp_path)
        rec.stdin.write("event nosuch start\n" + "x" * 5000 + "\nevent cam0 sideways\n\n")
        rec.stdin.flush()
        # Proof that the recorder read all four lines: each is refused in its log.
        wait_log(tmp_path, "stdin: line too long, ignored")
        wait_log(tmp_path, "stdin: expected", count=3)
        assert rec.poll() is None, "bad input stopped the recorder"
        assert files(tmp_path) == []
        rec.stdin.write("event cam0 start\n")
        rec.stdin.flush()
        time.sleep(1.5)  # the event lasts 1.5 s: the input under test, not a synchronization
        rec.stdin.write("event cam0 stop\n")
        rec.stdin.flush()
        assert recordlib.read_json_line(rec, 10) is not None
        rec.stdin.close()
        rec.send_signal(signal.SIGINT)
        assert rec.wait(timeout=20) == 0
    finally:
        if rec.poll() is None:
            rec.kill()
            rec.wait()
        src.stop()
