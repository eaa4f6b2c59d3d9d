#!/usr/bin/env bash
# OGC API Features benchmark (issue 4): `GET /ogc/collections/land_plots/
# items?bbox=…&limit=1000` (GeoJSON) on random boxes over the city, against
# the floor: PostgreSQL building the same GeoJSON page in SQL alone
# (json_build_object / json_agg with ST_AsGeoJSON, the same public columns
# in the same order, the same bbox filter, order, limit and numberMatched),
# run by pgbench at the same concurrency on the same database. Not a test;
# results go to bench/RESULTS.md by hand.
#
#   bench/features.sh                      # scale 1, 10 s per run
#   SCALE=10 DURATION=20 bench/features.sh
#   NO_BUILD=1 bench/features.sh           # the release binary as it is
#
# Needs: wrk (apt), pgbench (postgresql-15), python3 for the content check.
# Everything on this machine: the server on 127.0.0.1, the database on a
# unix socket. Both sides send the page uncompressed (no Accept-Encoding).
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=${SCALE:-1}
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-"1 8 32"}
LIMIT=${LIMIT:-1000}
BOXES=${BOXES:-500}
# Box side in degrees: 0.03° × 0.03° is 2.1 × 3.3 km, which holds more than
# `limit` plots at most places (the page is full).
SIDE=${SIDE:-0.03}
PORT=${PORT:-18081}
OUT=bench/out
# The same data directory as bench/tiles.sh: one load serves both.
DATA=${DATA:-$OUT/data-scale$SCALE}
mkdir -p "$OUT"
export GEOPORTAL_DATA_DIR=$DATA GEOPORTAL_LOG=${GEOPORTAL_LOG:-warn}
unset DATABASE_URL

need() { command -v "$1" >/dev/null || { echo "missing: $1 ($2)"; exit 1; }; }
need wrk "apt-get install wrk"
need pgbench "apt-get install postgresql-15"

# NO_BUILD=1 uses the release binary as it is (while others are mid-change).
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -q
GP=${GP:-./target/release/geoportal}

# --- the data: the demo city at SCALE in a cluster of its own ------------------
was_running=$($GP db url >/dev/null 2>&1 && psql "$($GP db url)" -tAc 'SELECT 1' 2>/dev/null || true)
$GP db start >/dev/null
URL=$($GP db url)
psql() { command psql "$URL" -X -q -v ON_ERROR_STOP=1 "$@"; }
$GP migrate >/dev/null
if [ "$(psql -tAc 'SELECT count(*) FROM land_plots')" = 0 ]; then
  echo "loading the demo city at scale $SCALE…"
  $GP demo --scale "$SCALE"
  psql -c 'VACUUM ANALYZE'
fi

# --- the boxes: BOXES random SIDE × SIDE boxes inside the city's extent ---------
psql <<SQL
DROP TABLE IF EXISTS bench_bboxes;
SELECT setseed(0.42);
CREATE TABLE bench_bboxes AS
WITH e AS (SELECT ST_Extent(geom) AS b FROM land_plots WHERE deleted_at IS NULL)
SELECT i, round(x::numeric, 6)::float8 AS minx, round(y::numeric, 6)::float8 AS miny,
       round((x + $SIDE)::numeric, 6)::float8 AS maxx, round((y + $SIDE)::numeric, 6)::float8 AS maxy
FROM generate_series(1, $BOXES) i, e,
     LATERAL (SELECT ST_XMin(b) + random() * (ST_XMax(b) - ST_XMin(b) - $SIDE) + i * 0 AS x,
                     ST_YMin(b) + random() * (ST_YMax(b) - ST_YMin(b) - $SIDE) + i * 0 AS y) r;
ALTER TABLE bench_bboxes ADD PRIMARY KEY (i);
ANALYZE bench_bboxes;
SQL
psql -tA -F' ' -c 'SELECT i, minx, miny, maxx, maxy FROM bench_bboxes ORDER BY i' > "$OUT/bboxes.txt"
awk -v l="$LIMIT" '{printf "/ogc/collections/land_plots/items?bbox=%s,%s,%s,%s&limit=%s\n", $2, $3, $4, $5, l}' \
  "$OUT/bboxes.txt" > "$OUT/paths-features.txt"
stats=$(psql -tA -F' ' <<SQL
SELECT round(avg(least(n, $LIMIT))), round(avg(n)), min(n), max(n) FROM (
  SELECT (SELECT count(*) FROM land_plots t WHERE t.deleted_at IS NULL
            AND ST_Intersects(t.geom, ST_MakeEnvelope(b.minx, b.miny, b.maxx, b.maxy, 4326))) AS n
  FROM bench_bboxes b) c;
SQL
)
read -r avg_returned avg_matched min_matched max_matched <<<"$stats"
echo "$BOXES boxes of ${SIDE}°: features per page avg $avg_returned (matched avg $avg_matched, min $min_matched, max $max_matched)"

# The page in SQL alone: what our server answers (public attributes of
# layers/land_plots.toml in file order, CRS84 with 8 digits, id order,
# numberMatched, links, timeStamp), built by PostgreSQL into one text value.
PROPS="'cadastral_number', p.cadastral_number, 'area_ha', p.area_ha, 'purpose_code', p.purpose_code,
       'ownership', p.ownership, 'use_status', p.use_status, 'price_zone', p.price_zone,
       'normative_value_uah', p.normative_value_uah, 'lease_contract_number', p.lease_contract_number,
       'lease_start', p.lease_start, 'lease_end', p.lease_end, 'annual_rent_uah', p.annual_rent_uah,
       'registered_at', p.registered_at, 'address', p.address"
page_sql() { # the box id (a number, or :i for pgbench)
  cat <<SQL
SELECT json_build_object(
  'type', 'FeatureCollection',
  'numberMatched', (SELECT count(*) FROM land_plots t WHERE t.deleted_at IS NULL
                      AND ST_Intersects(t.geom, ST_Transform(ST_MakeEnvelope(b.minx, b.miny, b.maxx, b.maxy, 4326), 4326))),
  'timeStamp', date_trunc('second', now()),
  'links', json_build_array(
     json_build_object('href', 'http://127.0.0.1/ogc/collections/land_plots/items?bbox=' || concat_ws(',', b.minx, b.miny, b.maxx, b.maxy) || '&limit=$LIMIT', 'rel', 'self', 'type', 'application/geo+json'),
     json_build_object('href', 'http://127.0.0.1/ogc/collections/land_plots/items?bbox=' || concat_ws(',', b.minx, b.miny, b.maxx, b.maxy) || '&limit=$LIMIT&offset=$LIMIT', 'rel', 'next', 'type', 'application/geo+json')),
  'features', f.features,
  'numberReturned', f.n
)::text
FROM bench_bboxes b,
LATERAL (SELECT coalesce(json_agg(json_build_object(
                  'type', 'Feature', 'id', p.id, 'geometry', ST_AsGeoJSON(p.geom, 8, 0)::json,
                  'properties', json_build_object($PROPS)) ORDER BY p.id), '[]'::json) AS features,
                count(*) AS n
         FROM (SELECT t.* FROM land_plots t WHERE t.deleted_at IS NULL
                 AND ST_Intersects(t.geom, ST_Transform(ST_MakeEnvelope(b.minx, b.miny, b.maxx, b.maxy, 4326), 4326))
               ORDER BY t.id LIMIT $LIMIT) p) f
WHERE b.i = $1;
SQL
}
{ echo "\\set i random(1, $BOXES)"; page_sql ':i'; } > "$OUT/features-floor.sql"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
GEOPORTAL_TILE_CACHE_MB=0 $GP serve --listen "127.0.0.1:$PORT" --public-url "http://127.0.0.1" > "$OUT/features-ours.log" 2>&1 &
PIDS+=($!)
up=""
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && { up=1; break; }; sleep 0.2; done
[ -n "$up" ] || { echo "the server did not start: see $OUT/features-ours.log"; exit 1; }

# --- the same content: server and SQL pages agree on a sample of boxes ---------
echo "== content (10 boxes: ids, properties, geometries, numberMatched)"
for i in 1 2 3 4 5 6 7 8 9 10; do
  path=$(sed -n "${i}p" "$OUT/paths-features.txt")
  curl -s "http://127.0.0.1:$PORT$path" > "$OUT/page-ours.json"
  psql -tA -c "$(page_sql "$i")" > "$OUT/page-sql.json"
  python3 - "$OUT/page-ours.json" "$OUT/page-sql.json" "$i" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def key(fc):
    return (fc["numberMatched"], fc["numberReturned"],
            [(f["id"], json.dumps(f["properties"], sort_keys=True), json.dumps(f["geometry"])) for f in fc["features"]])
ka, kb = key(a), key(b)
if ka != kb:
    print(f"box {sys.argv[3]}: DIFFERENT (matched {ka[0]} / {kb[0]}, returned {ka[1]} / {kb[1]})")
    sys.exit(1)
print(f"box {sys.argv[3]}: same {ka[1]} features of {ka[0]}")
PY
done

# wrk replays the box list round-robin and reports pages/s, p50, p99, bytes/page.
cat > "$OUT/replay-features.lua" <<'LUA'
local paths = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %.2f %.0f %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.bytes / math.max(summary.requests, 1), summary.errors.status))
end
LUA

RESULTS=$OUT/features-results.txt
: > "$RESULTS"
echo "== geoportal"
for c in $CONCURRENCY; do
  line=$(wrk -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d "${DURATION}s" --timeout 30s -s "$OUT/replay-features.lua" \
         "http://127.0.0.1:$PORT" -- "$OUT/paths-features.txt" | grep '^RESULT' || true)
  echo "geoportal c=$c ${line#RESULT }" | tee -a "$RESULTS"
done
cleanup; PIDS=()

echo "== floor: the same page built by PostgreSQL, run by pgbench"
for c in $CONCURRENCY; do
  out=$(command pgbench "$URL" -n -M prepared -f "$OUT/features-floor.sql" -c "$c" -j "$(( c < 2 ? 1 : 2 ))" -T "$DURATION" 2>&1)
  tps=$(awk '/^tps/ {print $3; exit}' <<<"$out")
  lat=$(awk '/^latency average/ {print $4; exit}' <<<"$out")
  echo "pgbench-sql c=$c $tps avg_ms=$lat" | tee -a "$RESULTS"
done
psql -c 'DROP TABLE IF EXISTS bench_bboxes'
[ -n "$was_running" ] || $GP db stop >/dev/null || true

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u '+%F %H:%M') UTC; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "scale $SCALE, $BOXES boxes of ${SIDE}°, limit $LIMIT: features per page avg $avg_returned (matched avg $avg_matched)"
echo "name concurrency pages/s p50_ms p99_ms bytes/page non-2xx"
cat "$RESULTS"
