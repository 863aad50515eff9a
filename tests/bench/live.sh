#!/usr/bin/env bash
# Live view benchmark (issue 19): the real zaulekd records CAMERAS simulated
# cameras (zaulek-sim, RTSP over loopback) and serves live viewers over
# WebSocket (fMP4 from the recorder's own pull); side by side, what a user
# would otherwise script: one `ffmpeg -rtsp_transport tcp -i URL -c copy -f mp4
# -movflags frag_keyframe+empty_moov+default_base_moof pipe:` per viewer.
# Per viewer count: time from the upgrade (ffmpeg: from its start) to the
# first media segment's bytes, frame latency from the simulator's send time
# (zaulek-sim --send-times stamps every frame, sim/sei.h) to its arrival at
# the viewer (p50/p99/max), CPU and memory per viewer, and the CPU of
# zaulekd, the simulator, the ffmpeg processes and the bench client; finally
# every recorded segment read back (zaulek-bench-ts-frames): frames against
# its duration, the simulator's frame numbers missing in it or between
# segments, each shortfall put down to the simulator, the way to the file, or
# the segment's boundary (see live_bench.py).
#
#   tests/bench/live.sh [BUILD_DIR]
#   CAMERAS=100 WATCHED=50 VIEWERS="1 10 50 100" WINDOW=10 FFMPEG=1 SEGMENT=10 \
#     MOVFLAGS=frag_keyframe+empty_moov+default_base_moof OUT=figures.json tests/bench/live.sh
# (defaults shown but OUT). Prints figures; never fails on a threshold (exit 1
# only if it cannot run). Do not run it while other builds load the machine:
#   flock /tmp/zaulek-build.lock tests/bench/live.sh build-dir
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
for b in "$build/server/zaulekd" "$build/sim/zaulek-sim" "$build/tests/bench/zaulek-bench-ts-frames"; do
  [ -x "$b" ] || { echo "live.sh: $b not built (cmake --build $build --target zaulekd zaulek-sim zaulek-bench-ts-frames)" >&2; exit 1; }
done
command -v ffmpeg > /dev/null || { echo "live.sh: ffmpeg not installed (scripts/setup)" >&2; exit 1; }
ulimit -n 8192 2>/dev/null || true
exec timeout 3600 python3 "$root/tests/bench/live_bench.py" --build "$build" \
  --cameras "${CAMERAS:-100}" --watched "${WATCHED:-50}" --viewers "${VIEWERS:-1 10 50 100}" \
  --window "${WINDOW:-10}" --ffmpeg "${FFMPEG:-1}" \
  --ffmpeg-movflags "${MOVFLAGS:-frag_keyframe+empty_moov+default_base_moof}" \
  --segment-seconds "${SEGMENT:-10}" ${OUT:+--out "$OUT"}
