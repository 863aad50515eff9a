"""Records a camera whose encoder uses B-frames (zaulek-sim --bframes: x264 or
x265 with 3 B-frames and b-pyramid, frames sent in decode order, RTP carrying
presentation times) beside one without, through the native and the GStreamer
ingest, and checks the files with ffprobe and ffmpeg: every frame there,
presentation times one frame apart, decode times increasing and never after
presentation, no decode error, and segment times that match the frames and
never claim more time than passed."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import recordlib  # noqa: E402
from simfleet import SimFleet  # noqa: E402

FRAME_NS = 40_000_000  # the simulator's 25 fps
FRAME_90K = 3600


def packets(path):
    res = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_packets",
         "-show_entries", "packet=pts,dts,flags:stream=has_b_frames", "-of", "json", str(path)],
        capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    return info["packets"], info["streams"][0].get("has_b_frames", 0)


def decode_errors(path):
    res = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"],
                         capture_output=True, text=True, timeout=120)
    return res.stderr.strip() if res.returncode == 0 else f"exit {res.returncode}: {res.stderr}"


def check_segment(seg, last):
    pkts, has_b = packets(seg["path"])
    assert len(pkts) == seg["frames"], (seg, len(pkts))
    pts = [int(p["pts"]) for p in pkts]
    dts = [int(p["dts"]) for p in pkts]
    assert pkts[0]["flags"].startswith("K"), "a segment starts at a keyframe"
    for i, (p, d) in enumerate(zip(pts, dts)):
        assert d <= p, f"{seg['path']}: frame {i} DTS {d} after PTS {p}"
    for i in range(1, len(dts)):
        assert dts[i] > dts[i - 1], f"{seg['path']}: DTS not increasing at frame {i}: {dts[:i + 1]}"
    shown = sorted(pts)
    steps = {b - a for a, b in zip(shown, shown[1:])}
    # Presentation times one frame apart. The segment closed by stop may lack
    # the B-frames of its last mini-GOP (their reference P arrived, they not).
    if last:
        assert steps <= {FRAME_90K * k for k in (1, 2, 3, 4)}, steps
    else:
        assert steps <= {FRAME_90K}, (seg["path"], sorted(steps))
    assert decode_errors(seg["path"]) == "", seg["path"]
    # The reported duration is the frames' (within one frame).
    reported = seg["end_ns"] - seg["start_ns"]
    assert abs(reported - seg["frames"] * FRAME_NS) <= FRAME_NS, (seg, reported)
    return has_b, pts != shown


@pytest.mark.parametrize("codec", ["h264", "h265"])
@pytest.mark.parametrize("ingest", ["native", "gstreamer"])
def test_bframes_recorded_in_order(tmp_path, codec, ingest):
    with SimFleet(cameras=2, h265=(codec == "h265"), extra_args=["--bframes", "0"]) as sim:
        assert [c["bframes"] for c in sim.cameras] == [True, False]
        urls = [f"bf={sim.cameras[0]['rtsp_main']}", f"plain={sim.cameras[1]['rtsp_main']}"]
        began = time.time_ns()
        rec = recordlib.start_recorder(tmp_path, urls, "--segment-seconds", "2", "--duration",
                                       "7", "--ingest", ingest)
        segments = []
        while True:
            seg = recordlib.read_json_line(rec, 60)
            if seg is None:
                break
            segments.append(seg)
        assert rec.wait(timeout=30) == 0
        elapsed = time.time_ns() - began

    for camera, bframes in (("bf", True), ("plain", False)):
        mine = [s for s in segments if s["camera"] == camera]
        assert len(mine) >= 3, segments  # 7 s in 2 s segments
        reordered = False
        for i, seg in enumerate(mine):
            assert seg["codec"] == codec
            has_b, out_of_order = check_segment(seg, last=(i == len(mine) - 1))
            assert (has_b > 0) == bframes, (camera, has_b)
            reordered = reordered or out_of_order
        assert reordered == bframes, camera
        for prev, seg in zip(mine, mine[1:]):
            assert seg["start_ns"] >= prev["end_ns"], "segments overlap"
        # The catalogue never holds more time than the wall clock gave.
        assert mine[-1]["end_ns"] - mine[0]["start_ns"] <= elapsed, (mine, elapsed)
        assert sum(s["end_ns"] - s["start_ns"] for s in mine) <= elapsed
