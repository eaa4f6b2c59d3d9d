//! `seed-tiles`: fills the cache, warms a running server through HTTP, and
//! writes an MBTiles file that GDAL opens.

mod common;
mod tiles_support;

use std::io::Read;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use common::TestDb;
use geoportal::config::Config;
use geoportal::server::{self, AppState};
use geoportal::tiles::seed::{self, SeedOptions};
use geozero::mvt::Message;

async fn state(db: &TestDb) -> AppState {
    let registry = common::registry(db).await;
    AppState::new(db.pool.clone(), Arc::new(registry), Arc::new(Config::defaults()))
}

/// Run from `dir`, where `--mbtiles` relative paths land.
fn cli(db: &TestDb, dir: &std::path::Path) -> Command {
    let mut cmd = common::binary::command(&db.url());
    cmd.current_dir(dir)
        .env(
            "GEOPORTAL_LAYERS_DIR",
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("layers"),
        )
        .env("GEOPORTAL_DATA_DIR", dir.join("data"));
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn seeding_fills_the_cache_with_every_tile_of_the_range() {
    let db = TestDb::new().await.with_demo(0.03, 5).await;
    let state = state(&db).await;
    let opts = SeedOptions {
        layers: "land_plots,buildings".into(),
        min_zoom: 12,
        max_zoom: 15,
        bbox: None,
        concurrency: 4,
    };
    let summary = seed::into_cache(&state, &opts, false).await.unwrap();
    assert!(summary.tiles > 4 && summary.non_empty > 0, "{summary:?}");
    let keys = state.tiles.keys();
    // land_plots starts at 13, buildings at 14: zoom 12 is not seeded.
    assert_eq!(keys.len() as u64, summary.tiles);
    assert!(keys.iter().all(|k| (13..=15).contains(&k.z) && k.layers.len() == 2));
    // The cache answers them now.
    let app = server::router(state.clone());
    let k = &keys[0];
    let before = state.tiles.entry_count();
    let r = tiles_support::request(
        &app,
        &format!("/tiles/land_plots,buildings/{}/{}/{}.mvt", k.z, k.x, k.y),
        &[],
    )
    .await;
    assert!(r.status.is_success());
    assert_eq!(state.tiles.entry_count(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_tiles_warms_a_running_server() {
    let db = TestDb::new().await.with_demo(0.03, 5).await;
    let state = state(&db).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = server::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    state.tiles.start_listener(&state.pool);
    while !state.tiles.is_live() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = cli(&db, dir.path());
    cmd.args(["seed-tiles", "--layers", "land_plots", "--zooms", "13-15", "--url"])
        .arg(format!("http://127.0.0.1:{port}"));
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let n: u64 = stdout.split_whitespace().next().unwrap().parse().unwrap();
    assert!(n > 3, "{stdout}");
    assert_eq!(state.tiles.entry_count(), n, "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_tiles_writes_an_mbtiles_file_gdal_opens() {
    let db = TestDb::new().await.with_demo(0.03, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = cli(&db, dir.path());
    cmd.args([
        "seed-tiles",
        "--layers",
        "land_plots,streets",
        "--zooms",
        "12-15",
        "--mbtiles",
        "city.mbtiles",
    ]);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file = dir.path().join("tiles").join("city.mbtiles");
    assert!(file.exists(), "{}", String::from_utf8_lossy(&out.stdout));

    // The tiles are gzip-compressed MVT with both layers, rows in TMS order.
    let conn = rusqlite::Connection::open(&file).unwrap();
    let (n, minz, maxz): (i64, i64, i64) = conn
        .query_row(
            "SELECT count(*), min(zoom_level), max(zoom_level) FROM tiles",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(n > 4, "{n} tiles");
    assert_eq!((minz, maxz), (12, 15));
    let (z, col, row, data): (i64, i64, i64, Vec<u8>) = conn
        .query_row(
            "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles WHERE zoom_level = 15 ORDER BY length(tile_data) DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(data.as_slice())
        .read_to_end(&mut raw)
        .unwrap();
    let t = geozero::mvt::Tile::decode(raw.as_slice()).unwrap();
    assert!(tiles_support::layer(&t, "land_plots").is_some());
    let y = (1i64 << z) - 1 - row;
    let expected = tiles_support::count(
        &db.pool,
        "SELECT count(*) FROM land_plots t WHERE t.deleted_at IS NULL AND \
         ST_Intersects(ST_Transform(t.geom, 3857), ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096))",
        z as u8,
        col as u32,
        y as u32,
    )
    .await;
    assert!(expected > 0, "the TMS row maps back to a tile with plots");
    let json: String = conn
        .query_row("SELECT value FROM metadata WHERE name = 'json'", [], |r| r.get(0))
        .unwrap();
    assert!(json.contains("vector_layers") && json.contains("\"streets\""));

    // GDAL opens it and sees both layers.
    match Command::new("ogrinfo")
        .arg("-ro")
        .arg("-so")
        .arg("-q")
        .arg(&file)
        .output()
    {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(o.status.success(), "ogrinfo: {}", String::from_utf8_lossy(&o.stderr));
            assert!(text.contains("land_plots") && text.contains("streets"), "{text}");
        }
        Err(_) => eprintln!("ogrinfo (gdal-bin) is not installed: the GDAL check is skipped"),
    }
}
