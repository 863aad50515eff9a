#!/usr/bin/env bash
# Live view benchmark (issue 19): the real zaulekd records CAMERAS simulated
# cameras (zaulek-sim, RTSP over loopback) and serves live viewers over
# WebSocket (fMP4 from the recorder's own pull); side by side, what a user
# would otherwise script: one `ffmpeg -rtsp_transport tcp -i URL -c copy -f mp4
# -movflags frag_keyframe+empty_moov+default_base_moof pipe:` per viewer.
# Per viewer count: time from the upgrade (ffmpeg: from its start) to the
# first media segment's bytes, frame arrival lateness (p50/p99, see
# live_bench.py), CPU and memory per viewer; finally every recorded segment's
# frame count against its duration (recording loses no frame).
#
#   tests/bench/live.sh [BUILD_DIR]
#   CAMERAS=100 WATCHED=50 VIEWERS="1 10 50 100" WINDOW=10 FFMPEG=1 tests/bench/live.sh
# (defaults shown). Prints figures; never fails on a threshold (exit 1 only
# if it cannot run). Do not run it while other builds load the machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
for b in "$build/server/zaulekd" "$build/sim/zaulek-sim"; do
  [ -x "$b" ] || { echo "live.sh: $b not built (cmake --build $build --target zaulekd zaulek-sim)" >&2; exit 1; }
done
command -v ffmpeg > /dev/null || { echo "live.sh: ffmpeg not installed (scripts/setup)" >&2; exit 1; }
ulimit -n 8192 2>/dev/null || true
exec timeout 3600 python3 "$root/tests/bench/live_bench.py" --build "$build" \
  --cameras "${CAMERAS:-100}" --watched "${WATCHED:-50}" --viewers "${VIEWERS:-1 10 50 100}" \
  --window "${WINDOW:-10}" --ffmpeg "${FFMPEG:-1}"
