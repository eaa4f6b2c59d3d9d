#!/usr/bin/env bash
# Times every analysis of the catalogue (analytics/) on the demo city over
# HTTP: one warm-up, then RUNS runs each (default 7), and prints p50, min
# and max in milliseconds. Scales as arguments (default: 1). The demo city
# of each scale is generated once into BENCH_DIR (default /tmp) and reused.
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

printf '%-6s %-42s %8s %8s %8s\n' scale request p50_ms min_ms max_ms
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
    curl -sf -o /dev/null "$url" || { printf '%-6s %-42s %8s\n' "$scale" "$req" FAILED; continue; }
    times=()
    for _ in $(seq 1 "$runs"); do
      times+=("$(curl -sf -o /dev/null -w '%{time_total}' "$url${sep}f=json")")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v s="$scale" -v r="$req" '
      { t[NR] = $1 * 1000 }
      END { printf "%-6s %-42s %8.0f %8.0f %8.0f\n", s, r, t[int((NR + 1) / 2)], t[1], t[NR] }'
  done
  kill "$server"; wait "$server" 2>/dev/null || true
  trap - EXIT
done
