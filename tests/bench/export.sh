#!/usr/bin/env bash
# Evidence export benchmark (issue 20): an hour of 4 Mbit/s footage (60
# one-minute TS segments from the simulator's 1080p clip, about 1.8 GB,
# written by zaulek-bench-export-footage with their catalogue rows) exported
# through the real zaulekd (POST /api/v1/exports until done: remux to MP4,
# SHA-256 of every segment and of the MP4, signed ZIP), in the same run as
# `cat` of the same segment bytes and `ffmpeg -f concat -safe 0 -c copy`.
# Also SHA-256 of the same bytes by libsodium (what the export uses, seen in
# zaulekd's log line), sha256sum and OpenSSL (SHA-NI when the CPU has it).
#
#   tests/bench/export.sh [BUILD_DIR]
#   MINUTES=60 KBPS=4000 RUNS=2 tests/bench/export.sh     (defaults shown)
# Needs about 4x the footage in free space (sources, the MP4 and the ZIP
# while it is made, one copy at a time); everything is deleted at the end.
# Prints figures; never fails on a threshold. Run it when nothing else builds.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
for b in "$build/server/zaulekd" "$build/tests/bench/zaulek-bench-export-footage"; do
  [ -x "$b" ] || { echo "export.sh: $b not built (targets zaulekd zaulek-bench-export-footage)" >&2; exit 1; }
done
command -v ffmpeg > /dev/null || { echo "export.sh: ffmpeg not installed (scripts/setup)" >&2; exit 1; }
minutes=${MINUTES:-60}
kbps=${KBPS:-4000}
runs=${RUNS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/zaulek-export-bench.XXXXXX")
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
storage=$work/storage
mkdir -p "$storage"
start=$(( $(date +%s) - 2 * 3600 ))
start=$(( start - start % 60 ))
echo "== footage: $minutes one-minute segments at $kbps kbit/s"
"$build/tests/bench/zaulek-bench-export-footage" "$storage" cam-bench "$minutes" "$start" "$kbps"
segs=$(ls "$storage"/cam-bench/*.ts)
bytes=$(cat $segs | wc -c)
echo "source: $(echo "$segs" | wc -l) files, $bytes bytes"

cat > "$work/zaulekd.toml" <<EOF
[server]
listen = "127.0.0.1:0"
[storage]
path = "$storage"
[retention]
min_free_percent = 0
[discovery]
interfaces = []
[auth]
password_hash_memory_kib = 19456
password_hash_iterations = 2
[export]
max_range_hours = 2
EOF
echo "Bench-Pass-$RANDOM$RANDOM" > "$work/pw"
"$build/server/zaulekd" --config "$work/zaulekd.toml" user add iwona --role investigator < "$work/pw" > /dev/null
"$build/server/zaulekd" --config "$work/zaulekd.toml" --port-file "$work/port" 2> "$work/zaulekd.log" &
pid=$!
for _ in $(seq 1 300); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

# Warm the page cache once, so every contender reads the sources from memory.
cat $segs > /dev/null

printf '%s\n' $segs | sed "s/^/file '/; s/\$/'/" > "$work/list.txt"
python3 - "$port" "$work" "$start" "$minutes" "$runs" "$bytes" "$pid" <<'PY'
import json, os, subprocess, sys, time, urllib.request
port, work, start, minutes, runs, nbytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
daemon = int(sys.argv[7])
def cpu_seconds():
    """zaulekd's user + system CPU time so far (all its threads): the export's
    CPU cost, which other load on the machine changes less than its wall time."""
    fields = open(f"/proc/{daemon}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
base = f"http://127.0.0.1:{port}"
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())
pw = open(os.path.join(work, "pw")).read().strip()
token = call("POST", "/api/v1/auth/login", {"username": "iwona", "password": pw})["token"]
def rfc(s):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))
segs = sorted(os.path.join(work, "storage", "cam-bench", f) for f in os.listdir(os.path.join(work, "storage", "cam-bench")))
def timed(cmd, out):
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, shell=isinstance(cmd, str))
    dt = time.monotonic() - t0
    os.remove(out)
    return dt
res = {"cat": [], "ffmpeg": [], "export": [], "sha256sum": [], "openssl": []}
cpu = []
for i in range(runs):
    out = os.path.join(work, "cat.ts")
    res["cat"].append(timed("cat " + " ".join(segs) + f" > {out} && sync -f {out}", out))
    out = os.path.join(work, "concat.mp4")
    res["ffmpeg"].append(timed(["ffmpeg", "-v", "error", "-nostdin", "-f", "concat", "-safe", "0", "-i",
                                os.path.join(work, "list.txt"), "-c", "copy", "-y", out], out))
    t0 = time.monotonic()
    c0 = cpu_seconds()
    x = call("POST", "/api/v1/exports", {"camera_id": "cam-bench", "from": rfc(start),
                                         "to": rfc(start + minutes * 60), "reason": "benchmark"}, token)
    while True:
        j = call("GET", f"/api/v1/exports/{x['id']}", token=token)
        if j["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    dt = time.monotonic() - t0
    cpu.append(cpu_seconds() - c0)
    assert j["state"] == "done", j
    res["export"].append(dt)
    call("DELETE", f"/api/v1/exports/{x['id']}", token=token)
    t0 = time.monotonic(); subprocess.run(["sha256sum"] + segs, check=True, stdout=subprocess.DEVNULL); res["sha256sum"].append(time.monotonic() - t0)
    t0 = time.monotonic(); subprocess.run(["openssl", "dgst", "-sha256"] + segs, check=True, stdout=subprocess.DEVNULL); res["openssl"].append(time.monotonic() - t0)
best = {k: min(v) for k, v in res.items()}
print(f"== {nbytes / 1e9:.2f} GB of segments, best of {runs} (all runs: {json.dumps({k: [round(x, 2) for x in v] for k, v in res.items()})})")
for k in ("cat", "ffmpeg", "export"):
    print(f"{k:10s} {best[k]:7.2f} s  {best[k] / best['cat']:5.2f}x cat  {nbytes / best[k] / 1e6:7.0f} MB/s")
print(f"export CPU time of zaulekd (all threads, user + system): {', '.join(f'{c:.2f}' for c in cpu)} s; "
      f"load average {os.getloadavg()[0]:.2f}")
for k in ("sha256sum", "openssl"):
    print(f"{k:10s} {best[k]:7.2f} s  {nbytes / best[k] / 1e6:7.0f} MB/s (SHA-256 of the sources only)")
PY
echo "== where the export's time went (zaulekd's log):"
grep -E "export: exp-[0-9]+: " "$work/zaulekd.log" || true
