#!/usr/bin/env bash
# Recorder benchmark (not in ctest): zaulek-record (and zaulekd itself, with the
# simulator as source) vs one ffmpeg per camera vs
# the rtspsrc!fakesink floor, side by side, CPU % of a core per stream and RSS
# per camera. Figures are printed, not asserted.
#   tests/bench/record.sh                 # 1 and 10 cameras
#   tests/bench/record.sh 1 10 50 100     # the issue's full set
#   tests/bench/record.sh --window 60 --source test 10
# Sources: build/sim/zaulek-sim when built (--source sim), else the recorder's
# own looping test source (--source test). Set ZAULEK_BUILD_DIR for another build.
# The long kill -9 run: ZAULEK_RECORD_KILL_TRIALS=10 ZAULEK_RECORD_KILL_CAMERAS=5 \
#   python3 -m pytest -q -s tests/integration/test_record_kill.py
set -euo pipefail
cd "$(dirname "$0")/../.."
export ZAULEK_BUILD_DIR="${ZAULEK_BUILD_DIR:-$PWD/build}"
for bin in media/zaulek-record tests/tools/zaulek-test-rtsp; do
  [ -x "$ZAULEK_BUILD_DIR/$bin" ] || { echo "build $bin first (cmake --build build)" >&2; exit 1; }
done
exec /usr/bin/python3 tests/tools/bench_record.py "$@"
