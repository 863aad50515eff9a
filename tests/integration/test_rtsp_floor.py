"""Our own RTP depayloader (media/rtp.h) on real packets: zaulek-bench-rtsp-floor
pulls zaulek-sim's H.264 and H.265 main streams (gst-rtsp-server packetizes
them with rtph264pay / rtph265pay: single NAL units, aggregates, fragments)
over RTSP/TCP and counts whole access units. The simulator's clips have a
2 s GOP at 25 fps, so there are about 50 frames per keyframe; over TCP
nothing may be lost, dropped or malformed."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from simfleet import SimFleet

TOOL = Path(os.environ.get("ZAULEK_BUILD_DIR", "build")) / "tests" / "bench" / "zaulek-bench-rtsp-floor"


def pull(urls, seconds):
    proc = subprocess.Popen([str(TOOL), *urls], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(seconds)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return json.loads(out)


@pytest.mark.parametrize("h265", [False, True], ids=["h264", "h265"])
def test_depayloader_on_simulator_streams(h265):
    with SimFleet(cameras=2, h265=h265) as sim:
        r = pull([c["rtsp_main"] for c in sim.cameras], 7)
    assert r["errors"] == [], r
    assert r["cameras"] == 2 and r["playing"] == 2, r
    assert r["lost_packets"] == 0 and r["dropped_units"] == 0 and r["malformed"] == 0, r
    assert r["keyframes"] >= 2, r          # both cameras reached a keyframe
    assert r["rtp_packets"] > r["frames"], r  # 1080p frames span several packets
    # The GOP structure survives depayloading: about 50 frames per keyframe
    # (partial GOPs at both ends of the window widen the range).
    per_key = r["frames"] / r["keyframes"]
    assert 20 <= per_key <= 80, r
    assert r["bytes"] / r["frames"] > 1000, r  # whole 1080p frames, not fragments
