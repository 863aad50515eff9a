"""Our own RTSP client (media/rtsp_client.h) and RTP depayloader (media/rtp.h)
on a real server: zaulek-bench-rtsp-floor pulls zaulek-sim's H.264 and H.265
main streams (gst-rtsp-server packetizes them with rtph264pay / rtph265pay:
single NAL units, aggregates, fragments) over RTSP/TCP, with digest
authentication when the simulator has credentials, and counts whole access
units; RTCP sender reports give them wall time. The simulator's clips have a
2 s GOP at 25 fps, so there are about 50 frames per keyframe; over TCP
nothing may be lost, dropped or malformed."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from simfleet import SimFleet

TOOL = Path(os.environ.get("ZAULEK_BUILD_DIR", "build")) / "tests" / "bench" / "zaulek-bench-rtsp-floor"


def pull(urls, seconds, auth=(), sim=None):
    """Runs the tool for `seconds` from the moment every camera delivered its
    first unit (or failed); a loaded machine delays the start, not the window.
    The tool bounds itself at 60 s; the simulator's log goes with the answer."""
    proc = subprocess.Popen([str(TOOL), *auth, "--seconds", str(seconds), "--deadline", "60", *urls],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"zaulek-bench-rtsp-floor did not stop by itself; stderr:\n{err}")
    assert proc.returncode == 0, err
    r = json.loads(out)
    r["sim_log"] = sim.log()[-4000:] if sim is not None else ""
    return r


@pytest.mark.parametrize("h265,digest", [(False, False), (True, False), (False, True)],
                         ids=["h264", "h265", "h264-digest"])
def test_native_ingest_on_simulator_streams(h265, digest, tmp_path):
    auth = ()
    kw = {}
    if digest:
        kw = {"user": "cam-admin", "password": "cam-secret-7"}
        pw = tmp_path / "pw"
        pw.write_text("cam-secret-7\n")
        auth = ("--user", "cam-admin", "--password-file", str(pw))
    with SimFleet(cameras=2, h265=h265, **kw) as sim:
        r = pull([c["rtsp_main"] for c in sim.cameras], 7, auth, sim)
    assert r["errors"] == [], r
    assert r["cameras"] == 2 and r["playing"] == 2, r
    assert r["lost_packets"] == 0 and r["dropped_units"] == 0 and r["malformed"] == 0, r
    assert r["first_unit_ms"] >= 0 and r["rtp_packets"] > 0, r  # both cameras delivered
    assert r["keyframes"] >= 2, r          # both cameras reached a keyframe
    # The GOP structure survives depayloading: about 50 frames per keyframe
    # (partial GOPs at both ends of the window widen the range).
    per_key = r["frames"] / r["keyframes"]
    assert 20 <= per_key <= 80, r
    assert r["bytes"] / r["frames"] > 1000, r  # whole 1080p frames, not fragments
    # gst-rtsp-server sends a sender report every few seconds: from the first
    # one on, units carry wall time.
    assert r["sender_reports"] >= 2 and 0 < r["with_wall_time"] <= r["frames"], r


def test_wrong_password_is_a_clear_error(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("not-the-password\n")
    with SimFleet(cameras=1, user="cam-admin", password="cam-secret-7") as sim:
        r = pull([sim.cameras[0]["rtsp_main"]], 3, ("--user", "cam-admin", "--password-file", str(pw)))
        assert r["playing"] == 0 and len(r["errors"]) == 1, r
        assert "wrong credentials (401)" in r["errors"][0], r
        assert "not-the-password" not in json.dumps(r)
        r = pull([sim.cameras[0]["rtsp_main"]], 3)
        assert "the camera wants credentials" in r["errors"][0], r
