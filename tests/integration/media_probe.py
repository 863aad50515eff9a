"""What real consumers make of a stream written to a file: ffprobe's packets,
ffmpeg's decode errors, the frames a GStreamer decoder gives. Shared by the
live view and playback tests (test_live.py, test_playback.py)."""
import json
import re
import subprocess


def ffprobe_packets(path):
    """(the video stream's fields, its packets): packets with pts and dts in
    stream ticks and as *_time seconds, and their flags."""
    res = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_packets", "-show_entries",
         "packet=pts,dts,pts_time,dts_time,flags:stream=codec_name,codec_tag_string,width,height,"
         "has_b_frames", "-of", "json", str(path)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    return info["streams"][0], info["packets"]


def ffmpeg_decode(path):
    """ffmpeg's exit status and error output decoding every frame."""
    res = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"],
                         capture_output=True, text=True, timeout=120)
    return res.returncode, res.stderr.strip()


def gst_decoded_frames(path, codec):
    """Frames a GStreamer decoder gives from the MP4 file (fakesink's chain lines)."""
    parse, dec = ("h264parse", "avdec_h264") if codec == "h264" else ("h265parse", "avdec_h265")
    res = subprocess.run(
        ["gst-launch-1.0", "-v", "filesrc", f"location={path}", "!", "qtdemux", "!", parse, "!",
         dec, "!", "fakesink", "silent=false"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:] + res.stdout[-2000:]
    assert "ERROR" not in res.stderr, res.stderr[-2000:]
    return len(re.findall(r"last-message = chain", res.stdout))
