#!/usr/bin/env bash
# Benchmark of zaulek-sim: CPU and RSS of the simulator holding N cameras with
# one client pulling every main stream (one gst-launch-1.0 process holding all
# N RTSP connections over TCP). Prints figures; asserts nothing about timing.
#   tests/bench/sim.sh [BUILD_DIR] [N...]        (default: build, 50 100)
# Every phase is bounded in time; everything started here is stopped by PID.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
shift || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(50 100)
sim="$build/sim/zaulek-sim"
[ -x "$sim" ] || { echo "sim.sh: $sim not built" >&2; exit 1; }
window=20   # seconds of measurement
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
threads() { awk '/^Threads/ {print $2}' "/proc/$1/status"; }

printf '%-8s %-12s %-12s %-10s %-8s %-14s %s\n' cameras sim_cpu_% sim_rss_MiB threads clients client_cpu_% "max_pts_gap_s(cam0 sub, 5 s)"
for n in "${counts[@]}"; do
  cache="$build/sim-cache"
  timeout 900 "$sim" --cameras "$n" --json --cache-dir "$cache" --log-level warn \
    > "$tmp/sim-$n.json" 2> "$tmp/sim-$n.log" &
  spid=$!
  pids+=("$spid")
  for _ in $(seq 1 600); do [ -s "$tmp/sim-$n.json" ] && break; sleep 0.2; done
  [ -s "$tmp/sim-$n.json" ] || { echo "sim.sh: simulator did not start; log:" >&2; cat "$tmp/sim-$n.log" >&2; exit 1; }
  spid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$tmp/sim-$n.json")  # not timeout's
  pids+=("$spid")
  control=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control_url"])' "$tmp/sim-$n.json")
  pipeline=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
urls = [c["rtsp_main"] for c in d["cameras"]]
print(" ".join("rtspsrc location=%s protocols=tcp latency=200 ! fakesink sync=false" % u for u in urls))
' "$tmp/sim-$n.json")
  # shellcheck disable=SC2086
  gst-launch-1.0 -q $pipeline > "$tmp/client-$n.log" 2>&1 &
  cpid=$!
  pids+=("$cpid")
  # Wait (bounded) until every camera has its client.
  clients=0
  for _ in $(seq 1 120); do
    clients=$(curl -s "$control/sim/cameras" | python3 -c 'import json,sys; print(sum(c["rtsp_clients"] for c in json.load(sys.stdin)["cameras"]))' || echo 0)
    [ "$clients" -ge "$n" ] && break
    sleep 0.5
  done
  sleep 3  # let the pipelines settle
  s0=$(cpu_ticks "$spid"); c0=$(cpu_ticks "$cpid"); t0=$(date +%s.%N)
  # During the window, one more client reads camera 0's sub stream: a
  # smoothness check of what the fleet delivers under this load.
  sub=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cameras"][0]["rtsp_sub"])' "$tmp/sim-$n.json")
  gap=$(timeout 30 ffprobe -v error -rtsp_transport tcp -select_streams v:0 -show_entries packet=pts_time \
          -of csv=p=0 -read_intervals %+5 "$sub" 2>/dev/null | grep -v N/A | grep -v "^$" | \
        python3 -c 'import sys; p=[float(l.strip().rstrip(",")) for l in sys.stdin if l.strip()]; print(round(max(b-a for a,b in zip(p,p[1:])),3) if len(p)>1 else "n/a")' || echo n/a)
  now=$(date +%s.%N)
  rest=$(python3 -c "print(max(0.0, $window - ($now - $t0)))")
  sleep "$rest"
  s1=$(cpu_ticks "$spid"); c1=$(cpu_ticks "$cpid"); t1=$(date +%s.%N)
  rss=$(rss_kib "$spid"); th=$(threads "$spid")
  read -r scpu ccpu < <(python3 -c "
el = $t1 - $t0
print(f'{100*($s1-$s0)/$hz/el:.1f} {100*($c1-$c0)/$hz/el:.1f}')")
  printf '%-8s %-12s %-12s %-10s %-8s %-14s %s\n' "$n" "$scpu" "$((rss / 1024))" "$th" "$clients" "$ccpu" "$gap"
  kill "$cpid" 2>/dev/null || true; wait "$cpid" 2>/dev/null || true
  kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true
done
echo "(CPU: % of one core over ${window} s, from /proc/PID/stat; machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
