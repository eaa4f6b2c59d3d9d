#!/usr/bin/env bash
# Times every analysis of the catalogue (analytics/) on the demo city over
# HTTP, RUNS runs each (default 7), in milliseconds:
#  * cold: computed afresh (`Cache-Control: no-cache`, as after a change to
#    the data): p50, min, max;
#  * cached: answered from the server's result cache (valid until the data
#    change, at most 5 minutes): p50, max.
# Scales as arguments (default: 1). The demo city of each scale is generated
# once into BENCH_DIR (default /tmp) and reused (DATA= points at another).
# Not a test: results go to bench/RESULTS.md with the machine and the date.
set -euo pipefail
cd "$(dirname "$0")/.."
scales=("${@:-1}")
runs=${RUNS:-7}
port=${PORT:-18190}
bin=${BIN:-./target/release/geoportal}
[ -n "${BIN:-}" ] || cargo build --release --locked >/dev/null
base="http://127.0.0.1:$port"

# the requests: every analysis with its defaults, plus the variants that matter
requests() {
  curl -sf "$base/api/analytics" | python3 -c '
import json, sys
for a in json.load(sys.stdin)["analyses"]:
    n = a["name"]
    if n == "district_summary":
        print(n + "?district_id=1")
        continue
    print(n)
    if any(p["name"] == "kind" and "admin" in p.get("enum", []) for p in a["params"]):
        print(n + "?kind=admin")
'
}

printf '%-6s %-42s %9s %8s %8s %11s %10s\n' scale request cold_p50 cold_min cold_max cached_p50 cached_max
for scale in ${scales[*]}; do
  data="${DATA:-${BENCH_DIR:-/tmp}/geoportal-bench-analytics-$scale}"
  if [ ! -e "$data/postgres" ]; then
    mkdir -p "$data"
    GEOPORTAL_DATA_DIR="$data" GEOPORTAL_LOG=warn "$bin" demo --scale "$scale" --seed 42 >/dev/null
  fi
  GEOPORTAL_DATA_DIR="$data" GEOPORTAL_LISTEN="127.0.0.1:$port" GEOPORTAL_LOG=warn "$bin" serve >/dev/null 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do curl -sf "$base/health" >/dev/null && break; sleep 1; done
  for req in $(requests); do
    sep='?'; [[ "$req" == *'?'* ]] && sep='&'
    url="$base/api/analytics/$req"
    curl -sf -o /dev/null "$url" || { printf '%-6s %-42s %9s\n' "$scale" "$req" FAILED; continue; }
    cold=(); cached=()
    for _ in $(seq 1 "$runs"); do
      cold+=("$(curl -sf -o /dev/null -H 'Cache-Control: no-cache' -w '%{time_total}' "$url${sep}f=json")")
    done
    for _ in $(seq 1 "$runs"); do
      cached+=("$(curl -sf -o /dev/null -w '%{time_total}' "$url${sep}f=json")")
    done
    c=$(printf '%s\n' "${cold[@]}" | sort -n | awk '{ t[NR] = $1 * 1000 } END { printf "%9.0f %8.0f %8.0f", t[int((NR + 1) / 2)], t[1], t[NR] }')
    w=$(printf '%s\n' "${cached[@]}" | sort -n | awk '{ t[NR] = $1 * 1000 } END { printf "%11.1f %10.1f", t[int((NR + 1) / 2)], t[NR] }')
    printf '%-6s %-42s %s %s\n' "$scale" "$req" "$c" "$w"
  done
  kill "$server"; wait "$server" 2>/dev/null || true
  trap - EXIT
done
