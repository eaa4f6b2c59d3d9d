//! Never stale: a change made directly in the database reaches the tiles
//! through NOTIFY within a second, an API-style invalidation drops exactly
//! the tiles the old and new boxes touch (in every composite), a tile built
//! before a change is never stored, and a lost listener connection drops
//! the whole cache.

mod common;
mod tiles_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestDb;
use geoportal::config::Config;
use geoportal::server::{self, AppState};
use geoportal::tiles::{Bbox, Tile, grid};
use tiles_support::*;

async fn state(db: &TestDb) -> AppState {
    let registry = common::registry(db).await;
    AppState::new(db.pool.clone(), Arc::new(registry), Arc::new(Config::defaults()))
}

async fn wait_live(state: &AppState) {
    state.tiles.start_listener(&state.pool);
    let start = Instant::now();
    while !state.tiles.is_live() {
        assert!(start.elapsed() < Duration::from_secs(5), "the listener never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A live plot, its bbox and the z16 tile holding its first vertex.
async fn some_plot(db: &TestDb) -> (i64, Bbox, (u32, u32)) {
    let (id, a, b, c, d, px, py): (i64, f64, f64, f64, f64, f64, f64) = sqlx::query_as(
        "SELECT id, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom), \
         ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) \
         FROM land_plots WHERE deleted_at IS NULL ORDER BY id LIMIT 1 OFFSET 10",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let inside = Bbox::new(px, py, px, py);
    let [x1, y1, x2, y2] = inside.to_mercator();
    let w = grid::tile_width(16);
    let x = ((x1 + x2) / 2.0 + grid::HALF_WORLD) / w;
    let y = (grid::HALF_WORLD - (y1 + y2) / 2.0) / w;
    (id, Bbox::new(a, b, c, d), (x as u32, y as u32))
}

fn feature_ids(t: &Option<geozero::mvt::Tile>, layer_name: &str) -> Vec<u64> {
    t.as_ref()
        .and_then(|t| layer(t, layer_name))
        .map(|l| l.features.iter().filter_map(|f| f.id).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_direct_update_reaches_every_tile_within_a_second() {
    let db = TestDb::new().await.with_demo(0.03, 11).await;
    let state = state(&db).await;
    let app = server::router(state.clone());
    wait_live(&state).await;
    let (id, _, (x, y)) = some_plot(&db).await;
    let uri = format!("/tiles/land_plots/16/{x}/{y}.mvt");
    let composite = format!("/tiles/buildings,land_plots/16/{x}/{y}.mvt");
    for u in [&uri, &composite] {
        assert!(feature_ids(&tile(&app, u).await, "land_plots").contains(&(id as u64)));
        // Now served from the cache.
        assert!(feature_ids(&tile(&app, u).await, "land_plots").contains(&(id as u64)));
    }
    assert!(state.tiles.entry_count() >= 2);

    // Move the plot 5 km east, behind the server's back.
    sqlx::query("UPDATE land_plots SET geom = ST_Translate(geom, 0.07, 0) WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let changed = Instant::now();
    loop {
        let a = feature_ids(&tile(&app, &uri).await, "land_plots");
        let b = feature_ids(&tile(&app, &composite).await, "land_plots");
        if !a.contains(&(id as u64)) && !b.contains(&(id as u64)) {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "old geometry served a second after the commit"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // And never again.
    for _ in 0..20 {
        assert!(!feature_ids(&tile(&app, &uri).await, "land_plots").contains(&(id as u64)));
    }
    // An attribute change too.
    let other: i64 = feature_ids(&tile(&app, &uri).await, "land_plots")[0] as i64;
    sqlx::query("UPDATE land_plots SET cadastral_number = '1810100000:99:999:9999' WHERE id = $1")
        .bind(other)
        .execute(&db.pool)
        .await
        .unwrap();
    let changed = Instant::now();
    loop {
        let t = tile(&app, &uri).await.unwrap();
        let l = layer(&t, "land_plots").unwrap();
        let f = l.features.iter().find(|f| f.id == Some(other as u64)).unwrap();
        if props(l, f)["cadastral_number"] == "1810100000:99:999:9999" {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "old attribute served a second after the commit"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn invalidation_drops_exactly_the_touched_tiles_in_every_composite() {
    let db = TestDb::new().await.with_demo(0.03, 11).await;
    let state = state(&db).await;
    let app = server::router(state.clone());
    wait_live(&state).await;
    let (_, bbox, _) = some_plot(&db).await;
    let city = extent(&db.pool, "land_plots").await;
    for z in 13..=16u8 {
        for (x, y) in grid::tiles_in(&city, z) {
            for layers in ["land_plots", "buildings", "land_plots,buildings"] {
                request(&app, &format!("/tiles/{layers}/{z}/{x}/{y}.mvt"), &[]).await;
            }
        }
    }
    let before = state.tiles.keys();
    assert!(before.len() > 20, "{} tiles cached", before.len());
    // Nothing changes in the database: this is the editing API's call.
    state.tiles.invalidate("land_plots", Some(bbox), None);
    let after = state.tiles.keys();
    let merc = bbox.to_mercator();
    let mut dropped = 0;
    for k in &before {
        let touched = k.layers.iter().any(|l| l == "land_plots") && grid::tile_touches(k.z, k.x, k.y, &merc);
        assert_eq!(after.contains(k), !touched, "{k:?}");
        dropped += usize::from(touched);
    }
    assert!(
        dropped >= 8,
        "a plot touches tiles at each of 4 zooms, alone and in composites: {dropped}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tile_built_before_a_change_is_never_stored() {
    let db = TestDb::new().await.with_demo(0.03, 11).await;
    let state = state(&db).await;
    wait_live(&state).await;
    let key = geoportal::tiles::TileKey {
        layers: vec!["land_plots".to_string()].into(),
        z: 16,
        x: 1,
        y: 1,
        variant: "public|".into(),
    };
    let tile = Arc::new(Tile::new(b"old bytes").unwrap());
    let stamp = state.tiles.stamp(&key.layers).unwrap();
    state
        .tiles
        .invalidate("land_plots", None, Some(Bbox::new(28.0, 50.0, 28.1, 50.1)));
    assert!(!state.tiles.insert(key.clone(), tile.clone(), &stamp));
    assert!(state.tiles.get(&key).is_none());
    // A change to another layer does not block it.
    let stamp = state.tiles.stamp(&key.layers).unwrap();
    state
        .tiles
        .invalidate("buildings", None, Some(Bbox::new(28.0, 50.0, 28.1, 50.1)));
    assert!(state.tiles.insert(key.clone(), tile, &stamp));
    assert!(state.tiles.get(&key).is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_listener_connection_drops_the_cache_and_reconnects() {
    let db = TestDb::new().await.with_demo(0.03, 11).await;
    let state = state(&db).await;
    let app = server::router(state.clone());
    wait_live(&state).await;
    let (id, _, (x, y)) = some_plot(&db).await;
    let uri = format!("/tiles/land_plots/16/{x}/{y}.mvt");
    assert!(feature_ids(&tile(&app, &uri).await, "land_plots").contains(&(id as u64)));
    assert!(state.tiles.entry_count() >= 1);

    // Kill the LISTEN connection, and change the plot while it is down:
    // that notification is lost.
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'LISTEN%geoportal_tiles%'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(killed, vec![true], "one listener connection");
    sqlx::query("UPDATE land_plots SET geom = ST_Translate(geom, 0.07, 0) WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let changed = Instant::now();
    loop {
        if !feature_ids(&tile(&app, &uri).await, "land_plots").contains(&(id as u64)) {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "stale tile after the listener lost its connection"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // It reconnects, and caches again.
    let start = Instant::now();
    loop {
        tile(&app, &uri).await;
        if state.tiles.is_live() && state.tiles.entry_count() >= 1 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "the listener never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The LISTEN tasks (tile changes, layer publication) keep a connection of
/// their own for good, outside the request pool; closing the pool (the
/// application stopping, every test's clean-up) ends them and their
/// connections, and `PgPool::close` does not wait for them.
#[tokio::test(flavor = "multi_thread")]
async fn closing_the_pool_ends_the_listeners() {
    use sqlx::Connection;
    let db = TestDb::new().await;
    let state = state(&db).await;
    let _app = server::router(state.clone());
    wait_live(&state).await;
    let mut watcher = sqlx::PgConnection::connect_with(&db.options).await.unwrap();
    let mut listening = async || {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'",
        )
        .fetch_one(&mut watcher)
        .await
        .unwrap()
    };
    let start = Instant::now();
    while listening().await < 2 {
        assert!(start.elapsed() < Duration::from_secs(5), "both listeners connect");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Requests still have every connection of the pool.
    let held: Vec<_> = futures::future::try_join_all((0..8).map(|_| db.pool.acquire()))
        .await
        .expect("the listeners take no connection of the request pool");
    drop(held);
    tokio::time::timeout(Duration::from_secs(5), db.pool.close())
        .await
        .expect("the pool closes although the listeners were waiting");
    let start = Instant::now();
    while listening().await > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the listeners end when the pool closes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
