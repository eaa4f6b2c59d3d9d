#!/usr/bin/env bash
# Vector tile benchmark (issue 3): geoportal vs martin 1.14.0 on the same
# database, layer, extent, buffer and attributes, uncached and cached, plus
# the floor: the same tile SQL run by pgbench. Not a test; results go to
# bench/RESULTS.md by hand.
#
#   bench/tiles.sh                 # scale 10, z12–z16, 20 s per run
#   SCALE=1 DURATION=10 bench/tiles.sh
#   ENGINES="postgis rust" (default) runs our server once per tile engine
#   (land_plots' `tile_engine`, set in a copy of layers/).
#
# Needs: wrk (apt), martin (`cargo install martin@1.14.0 --locked
# --no-default-features --features postgres`), pgbench (postgresql-15),
# python3 with mapbox-vector-tile for the content check (pip). Everything
# runs on this machine: servers on 127.0.0.1, the database on a unix socket.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=${SCALE:-10}
DURATION=${DURATION:-20}
ZOOMS=${ZOOMS:-12-16}
CONCURRENCY=${CONCURRENCY:-"1 8 32"}
ENGINES=${ENGINES:-"postgis rust"}
OURS_PORT=${OURS_PORT:-18080}
MARTIN_PORT=${MARTIN_PORT:-13000}
OUT=bench/out
DATA=$OUT/data-scale$SCALE
mkdir -p "$OUT"
export GEOPORTAL_DATA_DIR=$DATA GEOPORTAL_LOG=${GEOPORTAL_LOG:-warn}
unset DATABASE_URL

need() { command -v "$1" >/dev/null || { echo "missing: $1 ($2)"; exit 1; }; }
need wrk "apt-get install wrk"
need pgbench "apt-get install postgresql-15"
MARTIN=${MARTIN:-$(command -v martin || echo "$HOME/.cargo/bin/martin")}
if [ ! -x "$MARTIN" ]; then
  echo "martin not found: its runs are skipped (cargo install martin@1.14.0 --locked --no-default-features --features postgres)"
  MARTIN=""
fi

# GP=path/to/geoportal uses that build instead of building one.
if [ -z "${GP:-}" ]; then
  cargo build --release --locked -q
  GP=./target/release/geoportal
fi

# --- the data: the demo city at SCALE in a cluster of its own ------------------
$GP db start >/dev/null
URL=$($GP db url)
psql() { command psql "$URL" -X -q -v ON_ERROR_STOP=1 "$@"; }
$GP migrate >/dev/null
if [ "$(psql -tAc 'SELECT count(*) FROM land_plots')" = 0 ]; then
  echo "loading the demo city at scale $SCALE…"
  $GP demo --scale "$SCALE"
  psql -c 'VACUUM ANALYZE'
fi

# martin serves a view with exactly what our public tile holds: live rows,
# the tile = true attributes, numbers as doubles.
psql <<'SQL'
CREATE OR REPLACE VIEW bench_land_plots AS
SELECT id, geom, cadastral_number::text AS cadastral_number, area_ha::float8 AS area_ha,
       purpose_code, ownership, use_status, address
FROM land_plots WHERE deleted_at IS NULL;
SQL

# One copy of layers/ per tile engine, land_plots set to it.
for e in $ENGINES; do
  rm -rf "$OUT/layers-$e"; cp -r layers "$OUT/layers-$e"
  sed -i '/^tile_engine = /d; s/^maxzoom = \(.*\)$/maxzoom = \1\ntile_engine = "'"$e"'"/' "$OUT/layers-$e/land_plots.toml"
done

# --- the tile list: every tile of ZOOMS over the city ---------------------------
ZMIN=${ZOOMS%-*}; ZMAX=${ZOOMS#*-}
psql -tA -F' ' > "$OUT/tiles.txt" <<SQL
WITH e AS (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom), 4326), 3857) AS b FROM land_plots),
z AS (SELECT generate_series($ZMIN, $ZMAX) AS z),
r AS (SELECT z, (2 * 20037508.342789244) / (1 << z) AS w, b FROM z, e)
SELECT z, x, y FROM r,
  generate_series(floor((ST_XMin(b) + 20037508.342789244) / w)::int, floor((ST_XMax(b) + 20037508.342789244) / w)::int) x,
  generate_series(floor((20037508.342789244 - ST_YMax(b)) / w)::int, floor((20037508.342789244 - ST_YMin(b)) / w)::int) y
ORDER BY z, x, y;
SQL
# In a fixed random order: wrk starts each thread at a random line, and in
# z order that line decides whether a short run sees z14 or z16 tiles.
shuf --random-source=<(yes) -o "$OUT/tiles.txt" "$OUT/tiles.txt"
N=$(wc -l < "$OUT/tiles.txt")
echo "$N tiles, z$ZOOMS"
awk '{print "/tiles/land_plots/" $1 "/" $2 "/" $3 ".mvt"}' "$OUT/tiles.txt" > "$OUT/paths-ours.txt"
awk '{print "/land_plots/" $1 "/" $2 "/" $3}' "$OUT/tiles.txt" > "$OUT/paths-martin.txt"

# wrk replays a path list round-robin, and reports tiles/s, p50, p99, bytes/tile.
cat > "$OUT/replay.lua" <<'LUA'
local paths = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["Accept-Encoding"] = "gzip"})
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %.2f %.0f %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.bytes / math.max(summary.requests, 1), summary.errors.status))
end
LUA

RESULTS=$OUT/results.txt
: > "$RESULTS"
run() { # name port pathfile
  local name=$1 port=$2 paths=$3 c
  for c in $CONCURRENCY; do
    local line
    line=$(wrk -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d "${DURATION}s" -s "$OUT/replay.lua" "http://127.0.0.1:$port" -- "$paths" | grep '^RESULT' || true)
    echo "$name c=$c ${line#RESULT }" | tee -a "$RESULTS"
  done
}
warm() { # port pathfile
  while read -r p; do curl -s -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:$1$p"; done < "$2"
}
wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.2; done; echo "port $1 never answered"; exit 1; }

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_ours() { # cache MB, engine
  GEOPORTAL_TILE_CACHE_MB=$1 GEOPORTAL_LAYERS_DIR="$OUT/layers-$2" $GP serve --listen "127.0.0.1:$OURS_PORT" > "$OUT/ours.log" 2>&1 &
  PIDS+=($!); OURS_PID=$!; wait_port "$OURS_PORT"
}
start_martin() { # cache MB
  cat > "$OUT/martin.yaml" <<YAML
listen_addresses: '127.0.0.1:$MARTIN_PORT'
cache_size_mb: $1
worker_processes: 2
postgres:
  connection_string: '$URL'
  pool_size: 32
  auto_publish: false
  tables:
    land_plots:
      schema: public
      table: bench_land_plots
      layer_id: land_plots
      srid: 4326
      geometry_column: geom
      geometry_type: MULTIPOLYGON
      id_column: id
      minzoom: 13
      maxzoom: 22
      extent: 4096
      buffer: 64
      clip_geom: true
      properties:
        cadastral_number: text
        area_ha: float8
        purpose_code: text
        ownership: text
        use_status: text
        address: text
YAML
  "$MARTIN" --config "$OUT/martin.yaml" > "$OUT/martin.log" 2>&1 &
  PIDS+=($!); MARTIN_PID=$!; wait_port "$MARTIN_PORT"
}

echo "== uncached"
for e in $ENGINES; do
  start_ours 0 "$e"; run "geoportal-$e-uncached" "$OURS_PORT" "$OUT/paths-ours.txt"; kill "$OURS_PID"; wait "$OURS_PID" 2>/dev/null || true
done
if [ -n "$MARTIN" ]; then
  start_martin 0; run martin-uncached "$MARTIN_PORT" "$OUT/paths-martin.txt"; kill "$MARTIN_PID"; wait "$MARTIN_PID" 2>/dev/null || true
fi

echo "== cached (warmed with every tile first)"
for e in $ENGINES; do
  start_ours 1024 "$e"; warm "$OURS_PORT" "$OUT/paths-ours.txt"; run "geoportal-$e-cached" "$OURS_PORT" "$OUT/paths-ours.txt"
  kill "$OURS_PID"; wait "$OURS_PID" 2>/dev/null || true
done
if [ -n "$MARTIN" ]; then
  start_martin 1024; warm "$MARTIN_PORT" "$OUT/paths-martin.txt"; run martin-cached "$MARTIN_PORT" "$OUT/paths-martin.txt"
fi

echo "== content at z14–16 (same ids, attributes, geometry on the 4096 grid)"
if ! python3 -c 'import mapbox_vector_tile' 2>/dev/null; then
  echo "content check skipped: pip install mapbox-vector-tile" | tee -a "$RESULTS"
else
  # Each engine against martin, or the Rust engine against the PostGIS one.
  set -- $ENGINES
  start_ours 0 "$1"; A_PID=$OURS_PID
  if [ -n "$MARTIN" ]; then
    python3 bench/compare.py "http://127.0.0.1:$OURS_PORT/tiles/land_plots" "http://127.0.0.1:$MARTIN_PORT/land_plots" "$OUT/tiles.txt" | sed "s/^/$1 vs martin: /" | tee -a "$RESULTS"
  fi
  if [ $# -gt 1 ]; then
    OURS_PORT_A=$OURS_PORT; OURS_PORT=$((OURS_PORT + 1)); start_ours 0 "$2"
    python3 bench/compare.py "http://127.0.0.1:$OURS_PORT_A/tiles/land_plots" "http://127.0.0.1:$OURS_PORT/tiles/land_plots" "$OUT/tiles.txt" | sed "s/^/$1 vs $2: /" | tee -a "$RESULTS"
    kill "$OURS_PID"; wait "$OURS_PID" 2>/dev/null || true; OURS_PORT=$OURS_PORT_A
  fi
  kill "$A_PID"; wait "$A_PID" 2>/dev/null || true
fi
cleanup; PIDS=()

echo "== floor: the same tile SQL run by pgbench"
psql <<'SQL'
DROP TABLE IF EXISTS bench_tiles;
CREATE TABLE bench_tiles (i serial PRIMARY KEY, z int, x int, y int);
SQL
psql -c "\\copy bench_tiles (z, x, y) FROM '$OUT/tiles.txt' WITH (DELIMITER ' ')"
cat > "$OUT/floor.sql" <<SQL
\\set i random(1, $N)
SELECT (SELECT ST_AsMVT(q, 'land_plots', 4096, '__geom', '__id') FROM (
  SELECT t.id AS __id, ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope(b.z, b.x, b.y), 4096, 64, true) AS __geom,
         CASE WHEN b.z >= 14 THEN t.cadastral_number::text END AS cadastral_number, t.area_ha::float8 AS area_ha,
         t.purpose_code, t.ownership, t.use_status, CASE WHEN b.z >= 14 THEN t.address END AS address
  FROM land_plots t
  WHERE t.geom && ST_Transform(ST_TileEnvelope(b.z, b.x, b.y, margin => 64.0 / 4096), 4326) AND t.deleted_at IS NULL AND b.z >= 13
) q WHERE q.__geom IS NOT NULL) FROM bench_tiles b WHERE b.i = :i;
SQL
for c in $CONCURRENCY; do
  tps=$(command pgbench "$URL" -n -M prepared -f "$OUT/floor.sql" -c "$c" -j "$(( c < 2 ? 1 : 2 ))" -T "$DURATION" 2>&1 | awk '/^tps/ {print $3; exit}')
  echo "pgbench-floor c=$c $tps" | tee -a "$RESULTS"
done
$GP db stop >/dev/null || true

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%F)"
echo "name concurrency tiles/s p50_ms p99_ms bytes/tile non-2xx"
cat "$RESULTS"
