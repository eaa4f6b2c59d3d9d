#!/usr/bin/env bash
# Times `geoportal demo` at the given scales (default: 1 and 10) into fresh
# embedded clusters and prints a table. Not a test: results go to
# bench/RESULTS.md with the machine and the date.
set -euo pipefail
cd "$(dirname "$0")/.."
scales=("${@:-1 10}")
cargo build --release --locked >/dev/null
bin=./target/release/geoportal
printf '%-6s %-10s %-12s %-10s\n' scale seconds rows peak_MB
for scale in ${scales[*]}; do
  data=$(mktemp -d /tmp/geoportal-bench-demo.XXXXXX)
  start=$(date +%s.%N)
  # peak resident memory from GNU time when installed (Debian package `time`)
  timer=(); [ -x /usr/bin/time ] && timer=(/usr/bin/time -f '%M' -o "$data/mem")
  out=$("${timer[@]}" env GEOPORTAL_DATA_DIR="$data" GEOPORTAL_LOG=warn \
        "$bin" demo --scale "$scale" --seed 42 2>/dev/null)
  end=$(date +%s.%N)
  rows=$(sed -n 's/.*loaded: \([0-9]*\) rows.*/\1/p' <<<"$out")
  printf '%-6s %-10.1f %-12s %-10s\n' "$scale" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')" "$rows" "$( [ -f "$data/mem" ] && echo $(( $(cat "$data/mem") / 1024 )) || echo -)"
  GEOPORTAL_DATA_DIR="$data" "$bin" db stop >/dev/null 2>&1 || true
  rm -rf "$(readlink -f "$data/postgres")" "$data"
done
