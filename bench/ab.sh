#!/usr/bin/env bash
# Side-by-side A/B of two Legate builds on this machine: the working tree against REV.
#
#   bash bench/ab.sh REV [http|tcp] [/|/64k] [PAIRS]      e.g. bash bench/ab.sh HEAD~1 http / 10
#
# Starts a 1-worker nginx backend (port 19281: `/` 12 B, `/64k` 65,536 B) and both builds
# (REV on 19290, the working tree on 19291, each `--concurrency 1`), all pinned as in
# `npm run bench` (backend and wrk on CPU 0, the proxies on CPU 1). Then PAIRS times, in
# alternating order, one 2 s `wrk -t1 -c64` window per build, CPU time of the whole process
# from /proc. Prints each pair and the medians; B/A below 1 means the working tree is cheaper.
# Needs nginx and wrk (`npm run bench` installs them). Stops what it started, by PID.
set -euo pipefail
REV=${1:?usage: bash bench/ab.sh REV [http|tcp] [/|/64k] [PAIRS]}
LAYER=${2:-http}
URLPATH=${3:-/}
PAIRS=${4:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODE="$ROOT/node_modules/.bin/node"
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  git -C "$ROOT" worktree remove --force "$TMP/a" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

git -C "$ROOT" worktree add -q --detach "$TMP/a" "$REV"
ln -s "$ROOT/node_modules" "$TMP/a/node_modules"
head -c 65536 /dev/zero | tr '\0' 'x' > "$TMP/64k"
cat > "$TMP/nginx.conf" <<EOF
worker_processes 1; daemon off; pid $TMP/nginx.pid; error_log $TMP/error.log;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 1000000;
  client_body_temp_path $TMP; proxy_temp_path $TMP; fastcgi_temp_path $TMP; uwsgi_temp_path $TMP; scgi_temp_path $TMP;
  server { listen 127.0.0.1:19281; location = / { return 200 "hello world\n"; } location = /64k { alias $TMP/64k; } }
}
EOF
taskset -c 0 nginx -c "$TMP/nginx.conf" & PIDS+=($!)
CONFIG="$ROOT/bench/configs/legate-$LAYER.yaml"
sed 's/port_value: 19290/port_value: 19291/' "$CONFIG" > "$TMP/b.yaml"
taskset -c 1 "$NODE" "$TMP/a/bin/legate.js" -c "$CONFIG" --concurrency 1 -l warning > "$TMP/a.log" 2>&1 &
PA=$!; PIDS+=("$PA")
taskset -c 1 "$NODE" "$ROOT/bin/legate.js" -c "$TMP/b.yaml" --concurrency 1 -l warning > "$TMP/b.log" 2>&1 &
PB=$!; PIDS+=("$PB")
for port in 19290 19291; do
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port$URLPATH" && break; sleep 0.1; done
  taskset -c 0 wrk -t1 -c64 -d2s "http://127.0.0.1:$port$URLPATH" > /dev/null
done

# CPU µs per request and req/s of one 2 s window against PID on PORT.
window() {
  local pid=$1 port=$2 before after rps
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  rps=$(taskset -c 0 wrk -t1 -c64 -d2s "http://127.0.0.1:$port$URLPATH" | awk '/Requests\/sec/ {print $2}')
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  awk -v t="$((after - before))" -v r="$rps" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f %.0f", t * 1e6 / hz / (r * 2), r }'
}

for i in $(seq 1 "$PAIRS"); do
  if ((i % 2)); then a=$(window "$PA" 19290); b=$(window "$PB" 19291)
  else b=$(window "$PB" 19291); a=$(window "$PA" 19290); fi
  echo "$a $b"
done | awk '
  { printf "A %6.1f us/req %7d req/s   B %6.1f us/req %7d req/s   B/A %.3f\n", $1, $2, $3, $4, $3 / $1
    a[NR] = $1; b[NR] = $3; r[NR] = $3 / $1 }
  function median(v, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  END { printf "median A %.1f  B %.1f us/req   median B/A %.3f\n", median(a, NR), median(b, NR), median(r, NR) }'
