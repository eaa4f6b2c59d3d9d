//! Scale-out on PostgreSQL streaming replicas (issue 9): a real primary and
//! a real streaming replica, started from the system's binaries on
//! loopback (`initdb`, `pg_basebackup -R`), and two server instances (two
//! `AppState`s with their own pools, as two processes would have) reading
//! from the replica. Proves that reads reach the replica and writes the
//! primary, and that no edit is ever served stale — to the editor, to
//! another viewer, or by the other instance's tiles and features — while
//! the replica's WAL replay is paused, so its lag is real.

mod common;
mod editing_support;
mod tiles_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use geoportal::config::Config;
use geoportal::db::replica::{format_lsn, parse_lsn};
use geoportal::registry::{self, Registry, Role};
use geoportal::server::{self, AppState};
use geoportal::tiles::grid;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// A primary and its streaming replica under /tmp/gp-repl-*, stopped and
/// removed on drop.
struct Pair {
    dir: PathBuf,
    bin: PathBuf,
    primary_port: u16,
    replica_port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL program, as `postgres` when we are root (initdb and
/// postgres refuse root).
fn pg(bin: &Path, program: &str, args: &[&str]) {
    let path = bin.join(program);
    let output = if is_root() {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&path)
            .args(args)
            .output()
    } else {
        Command::new(&path).args(args).output()
    }
    .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

impl Pair {
    fn start() -> Pair {
        let bin = geoportal::db::embedded::client_bin("initdb")
            .parent()
            .unwrap()
            .to_path_buf();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = PathBuf::from(format!("/tmp/gp-repl-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            let status = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&dir)
                .status()
                .unwrap();
            assert!(status.success(), "chown postgres {}", dir.display());
        }
        let pair = Pair {
            primary_port: common::binary::free_port(),
            replica_port: common::binary::free_port(),
            dir,
            bin,
        };
        let primary = pair.dir.join("primary");
        let replica = pair.dir.join("replica");
        let (p, r, d) = (
            primary.to_str().unwrap(),
            replica.to_str().unwrap(),
            pair.dir.to_str().unwrap(),
        );
        pg(
            &pair.bin,
            "initdb",
            &[
                "-D",
                p,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        // Loopback only; replication is allowed from 127.0.0.1 by initdb's
        // default pg_hba.conf.
        append(
            &primary.join("postgresql.conf"),
            &format!(
                "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{d}'\n\
                 fsync = off\nfull_page_writes = off\nshared_buffers = 32MB\nmax_wal_senders = 4\n\
                 log_line_prefix = '[%a] '\nlog_statement = 'mod'\n",
                pair.primary_port
            ),
        );
        let primary_log = pair.dir.join("primary.log");
        pg(
            &pair.bin,
            "pg_ctl",
            &["-D", p, "-l", primary_log.to_str().unwrap(), "-w", "start"],
        );
        let port = pair.primary_port.to_string();
        pg(
            &pair.bin,
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                r,
                "-R",
                "-X",
                "stream",
                "-N",
            ],
        );
        append(
            &replica.join("postgresql.conf"),
            &format!(
                "\nport = {}\nhot_standby_feedback = on\nlog_statement = 'all'\n",
                pair.replica_port
            ),
        );
        let replica_log = pair.dir.join("replica.log");
        pg(
            &pair.bin,
            "pg_ctl",
            &["-D", r, "-l", replica_log.to_str().unwrap(), "-w", "start"],
        );
        pair
    }

    fn options(&self, port: u16, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(port)
            .username("postgres")
            .database(database)
    }

    fn replica_url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/geoportal", self.replica_port)
    }

    fn stop_replica(&self) {
        let r = self.dir.join("replica");
        pg(
            &self.bin,
            "pg_ctl",
            &["-D", r.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for node in ["replica", "primary"] {
            let data = self.dir.join(node);
            if data.join("postmaster.pid").exists() {
                let path = self.bin.join("pg_ctl");
                let d = data.to_str().unwrap_or_default();
                let _ = if is_root() {
                    Command::new("runuser")
                        .args(["-u", "postgres", "--"])
                        .arg(&path)
                        .args(["-D", d, "-m", "immediate", "stop"])
                        .output()
                } else {
                    Command::new(&path).args(["-D", d, "-m", "immediate", "stop"]).output()
                };
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One server instance on the pair: its own primary pool, the replica in
/// `DATABASE_REPLICA_URLS`.
async fn instance(pair: &Pair, registry: Registry, name: &str) -> (AppState, axum::Router) {
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(pair.options(pair.primary_port, "geoportal").application_name(name))
        .await
        .unwrap();
    let mut config = Config::defaults();
    config.web_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web");
    config.database_replica_urls = vec![pair.replica_url()];
    // Lag is judged by LSN here: a paused replica stays "healthy" so that
    // only the read floors keep stale data away.
    config.replica_max_lag_ms = 120_000;
    let state = AppState::new(pool, Arc::new(registry), Arc::new(config));
    let app = server::router(state.clone());
    (state, app)
}

/// Until the instance listens for changes and has seen the replica healthy.
async fn wait_ready(state: &AppState) {
    let _ = state.reader(&geoportal::access::Viewer::anonymous()).await;
    let start = Instant::now();
    while !(state.replicas.is_listening() && state.replicas.status().iter().all(|r| r.healthy)) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "instance never ready: {:?}",
            state.replicas
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn primary_lsn(pool: &PgPool) -> u64 {
    let text: String = sqlx::query_scalar("SELECT pg_current_wal_insert_lsn()::text")
        .fetch_one(pool)
        .await
        .unwrap();
    parse_lsn(&text).unwrap()
}

async fn replay_lsn(replica: &PgPool) -> u64 {
    let text: String = sqlx::query_scalar("SELECT pg_last_wal_replay_lsn()::text")
        .fetch_one(replica)
        .await
        .unwrap();
    parse_lsn(&text).unwrap()
}

async fn wait_replayed(primary: &PgPool, replica: &PgPool) {
    let target = primary_lsn(primary).await;
    let start = Instant::now();
    while replay_lsn(replica).await < target {
        assert!(start.elapsed() < Duration::from_secs(30), "the replica never caught up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The plot's `address` as the features API answers it.
async fn item_address(app: &axum::Router, fid: i64, token: Option<&str>, headers: &[(&str, &str)]) -> String {
    let r = editing_support::send(
        app,
        Method::GET,
        &format!("/ogc/collections/land_plots/items/{fid}"),
        token,
        headers,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["properties"]["address"].as_str().unwrap_or_default().to_string()
}

/// The plot's `address` in its z16 tile.
async fn tile_address(app: &axum::Router, fid: i64, (x, y): (u32, u32)) -> String {
    let t = tiles_support::tile(app, &format!("/tiles/land_plots/16/{x}/{y}.mvt"))
        .await
        .expect("the plot's tile is not empty");
    let l = tiles_support::layer(&t, "land_plots").expect("land_plots layer");
    let f = l
        .features
        .iter()
        .find(|f| f.id == Some(fid as u64))
        .expect("the plot is in its tile");
    tiles_support::props(l, f).get("address").cloned().unwrap_or_default()
}

/// Statements a server logged for the client `application` (the replica
/// logs every statement, the primary every write).
fn logged(pair: &Pair, node: &str, application: &str) -> Vec<String> {
    let text = std::fs::read_to_string(pair.dir.join(format!("{node}.log"))).unwrap_or_default();
    // An entry starts with the `[application] ` prefix; a statement of
    // several lines continues on lines without it.
    let mut entries: Vec<String> = Vec::new();
    for line in text.lines() {
        let starts_entry = line.starts_with('[')
            && line.split_once("] ").is_some_and(|(_, rest)| {
                rest.split_once(':')
                    .is_some_and(|(level, _)| level.chars().all(|c| c.is_ascii_uppercase()))
            });
        match entries.last_mut() {
            Some(last) if !starts_entry => {
                last.push('\n');
                last.push_str(line);
            }
            _ => entries.push(line.to_string()),
        }
    }
    let prefix = format!("[{application}] LOG:");
    entries
        .into_iter()
        .filter(|e| e.starts_with(&prefix) && (e.contains("statement:") || e.contains("execute")))
        .collect()
}

fn is_write(statement: &str) -> bool {
    let upper = statement.to_uppercase();
    ["UPDATE ", "INSERT ", "DELETE "].iter().any(|w| upper.contains(w))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_go_to_the_replica_writes_to_the_primary_and_nothing_is_served_stale() {
    let started = Instant::now();
    let pair = Pair::start();
    // The database and its schema, made on the primary only: the replica
    // receives them through streaming replication.
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(pair.options(pair.primary_port, "postgres"))
        .await
        .unwrap();
    sqlx::query("CREATE DATABASE geoportal").execute(&admin).await.unwrap();
    admin.close().await;
    let primary = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(
            pair.options(pair.primary_port, "geoportal")
                .application_name("test-primary"),
        )
        .await
        .unwrap();
    geoportal::db::MIGRATOR.run(&primary).await.unwrap();
    geoportal::demo::load(&primary, &geoportal::demo::DemoOptions { scale: 0.03, seed: 9 }, false)
        .await
        .unwrap();
    let replica = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(
            pair.options(pair.replica_port, "geoportal")
                .application_name("test-replica"),
        )
        .await
        .unwrap();
    wait_replayed(&primary, &replica).await;
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&replica)
        .await
        .unwrap();
    assert!(in_recovery, "the replica is a streaming standby");
    eprintln!("primary + replica + schema + demo: {:?}", started.elapsed());

    let load_registry = || async {
        let r = Registry::load_dir(&common::layers_dir()).unwrap();
        registry::check_against_database(&r, &primary).await.unwrap();
        r
    };
    let (a, app_a) = instance(&pair, load_registry().await, "instance-a").await;
    let (b, app_b) = instance(&pair, load_registry().await, "instance-b").await;
    wait_ready(&a).await;
    wait_ready(&b).await;
    let (_, token) = editing_support::user(&primary, "replica-editor", &[Role::LandEditor]).await;
    wait_replayed(&primary, &replica).await;

    // A live plot and the z16 tile of a point inside it.
    let (fid, px, py): (i64, f64, f64) = sqlx::query_as(
        "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) \
         FROM land_plots WHERE deleted_at IS NULL ORDER BY id LIMIT 1 OFFSET 5",
    )
    .fetch_one(&primary)
    .await
    .unwrap();
    let [mx, my, _, _] = geoportal::tiles::Bbox::new(px, py, px, py).to_mercator();
    let w = grid::tile_width(16);
    let xy = (
        ((mx + grid::HALF_WORLD) / w) as u32,
        ((grid::HALF_WORLD - my) / w) as u32,
    );
    let original: String = sqlx::query_scalar("SELECT coalesce(address, '') FROM land_plots WHERE id = $1")
        .bind(fid)
        .fetch_one(&primary)
        .await
        .unwrap();

    // 1. Reads reach the replica: features, tiles, search, analytics' pool.
    let (on_replica, on_primary) = b.replicas.reads();
    assert_eq!(item_address(&app_b, fid, None, &[]).await, original);
    assert_eq!(tile_address(&app_b, fid, xy).await, original);
    let (now_replica, now_primary) = b.replicas.reads();
    assert_eq!(
        (now_replica - on_replica, now_primary - on_primary),
        (2, 0),
        "the item and the tile were read from the replica"
    );
    let on_the_replica = logged(&pair, "replica", "geoportal-replica");
    assert!(
        on_the_replica
            .iter()
            // Either engine: ST_AsMVT (PostGIS) or the Rust engine's
            // geometry query over the tile's search box.
            .any(|l| l.contains("land_plots") && (l.contains("ST_AsMVT") || l.contains("ST_MakeEnvelope"))),
        "the replica server built the tile"
    );
    assert!(
        on_the_replica
            .iter()
            .any(|l| l.contains("land_plots") && l.contains("ST_AsGeoJSON")),
        "the replica server answered the feature"
    );
    // Search and an analysis read from the replica too.
    let (before_replica, before_primary) = b.replicas.reads();
    let search = editing_support::send(&app_b, Method::GET, "/api/search?q=1810", None, &[], None).await;
    assert_eq!(search.status, StatusCode::OK, "{}", search.text);
    let analysis = editing_support::send(
        &app_b,
        Method::GET,
        "/api/analytics/budget_by_district?year=2031",
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(analysis.status, StatusCode::OK, "{}", analysis.text);
    let (after_replica, after_primary) = b.replicas.reads();
    assert!(
        after_replica >= before_replica + 2 && after_primary == before_primary,
        "search and analytics read from the replica: replica {before_replica} → {after_replica}, primary {before_primary} → {after_primary}"
    );
    let on_the_replica = logged(&pair, "replica", "geoportal-replica");
    assert!(
        on_the_replica.iter().any(|l| l.contains("word_similarity")),
        "the replica server answered the search"
    );
    assert!(
        on_the_replica.iter().any(|l| l.contains("budget_projects")),
        "the replica server ran the analysis"
    );

    // Warm A's tile cache too: both instances now hold the old tile.
    assert_eq!(tile_address(&app_a, fid, xy).await, original);
    assert!(!a.tiles.keys().is_empty() && !b.tiles.keys().is_empty());

    // 2. The replica stops replaying: from here on it is really behind.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&replica)
        .await
        .unwrap();

    // 3. The editor writes through instance A.
    let got = editing_support::send(
        &app_a,
        Method::GET,
        &format!("/ogc/collections/land_plots/items/{fid}"),
        Some(&token),
        &[],
        None,
    )
    .await;
    let etag = got.etag();
    let b_floor_before = b.replicas.table_floor("land_plots");
    let edited = editing_support::send(
        &app_a,
        Method::PATCH,
        &format!("/ogc/collections/land_plots/items/{fid}"),
        Some(&token),
        &[("content-type", "application/merge-patch+json"), ("if-match", &etag)],
        Some(&json!({"properties": {"address": "replica street 1"}})),
    )
    .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    let lsn_text = edited
        .headers
        .get("geoportal-lsn")
        .and_then(|v| v.to_str().ok())
        .expect("a write answers with its Geoportal-LSN")
        .to_string();
    let lsn = parse_lsn(&lsn_text).expect("an LSN");
    assert_eq!(format_lsn(lsn), lsn_text);
    // The write went to the primary; the paused replica does not have it.
    let on_primary_now: String = sqlx::query_scalar("SELECT address FROM land_plots WHERE id = $1")
        .bind(fid)
        .fetch_one(&primary)
        .await
        .unwrap();
    assert_eq!(on_primary_now, "replica street 1");
    assert!(
        logged(&pair, "primary", "instance-a")
            .iter()
            .any(|l| is_write(l) && l.contains("land_plots")),
        "instance A wrote the plot on the primary"
    );
    let on_replica_now: String = sqlx::query_scalar("SELECT coalesce(address, '') FROM land_plots WHERE id = $1")
        .bind(fid)
        .fetch_one(&replica)
        .await
        .unwrap();
    assert_eq!(on_replica_now, original, "the replica is behind (replay paused)");
    assert!(replay_lsn(&replica).await < lsn);

    // 4. Immediately: the editor reads their write (A, same actor) ...
    assert_eq!(item_address(&app_a, fid, Some(&token), &[]).await, "replica street 1");
    // ... and so does everyone else on A, features and tiles alike.
    assert_eq!(item_address(&app_a, fid, None, &[]).await, "replica street 1");
    assert_eq!(tile_address(&app_a, fid, xy).await, "replica street 1");
    // On instance B, a client that passes back the LSN it got reads it at
    // once, whoever it is.
    assert_eq!(
        item_address(&app_b, fid, None, &[("geoportal-min-lsn", &lsn_text)]).await,
        "replica street 1"
    );
    // B hears of the change through NOTIFY (the listener raises its floor
    // for land_plots, then drops the tiles the change touched).
    let heard = Instant::now();
    while b.replicas.table_floor("land_plots") <= b_floor_before {
        assert!(heard.elapsed() < Duration::from_secs(1), "B never heard of the change");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // From then on B serves the new data: its cached tile was dropped and
    // is rebuilt on the primary, since the replica has not replayed it.
    for _ in 0..3 {
        assert_eq!(item_address(&app_b, fid, None, &[]).await, "replica street 1");
        assert_eq!(tile_address(&app_b, fid, xy).await, "replica street 1");
    }

    // 5. A change made outside the API (psql, another tool) reaches both
    // instances' tiles and features within a second, replica still paused.
    sqlx::query("UPDATE land_plots SET address = 'direct street 2' WHERE id = $1")
        .bind(fid)
        .execute(&primary)
        .await
        .unwrap();
    for (state, app) in [(&a, &app_a), (&b, &app_b)] {
        let start = Instant::now();
        let mut seen = false;
        while start.elapsed() < Duration::from_secs(1) {
            if tile_address(app, fid, xy).await == "direct street 2" {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            seen,
            "a direct UPDATE reached the tiles within a second: {:?}",
            state.replicas
        );
        // Never the old data again.
        for _ in 0..3 {
            assert_eq!(tile_address(app, fid, xy).await, "direct street 2");
            assert_eq!(item_address(app, fid, None, &[]).await, "direct street 2");
        }
    }
    // A register without geometry (no tiles) tells of its changes too
    // (migration 0110): its read floor rises on the other instance.
    let tariffs_before = b.replicas.table_floor("tariffs");
    sqlx::query("UPDATE tariffs SET price_uah = price_uah + 1 WHERE id = (SELECT min(id) FROM tariffs)")
        .execute(&primary)
        .await
        .unwrap();
    let heard = Instant::now();
    while b.replicas.table_floor("tariffs") <= tariffs_before {
        assert!(
            heard.elapsed() < Duration::from_secs(1),
            "B never heard of the tariff change"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(b.replicas.table_floor("tariffs") > replay_lsn(&replica).await);
    let (stale_replica, _) = b.replicas.reads();
    let still: String = sqlx::query_scalar("SELECT coalesce(address, '') FROM land_plots WHERE id = $1")
        .bind(fid)
        .fetch_one(&replica)
        .await
        .unwrap();
    assert_eq!(still, original, "the replica was behind all along");

    // 6. Replay resumes: once the replica has caught up, reads go back to it.
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&replica)
        .await
        .unwrap();
    wait_replayed(&primary, &replica).await;
    let back = Instant::now();
    loop {
        assert_eq!(item_address(&app_b, fid, None, &[]).await, "direct street 2");
        if b.replicas.reads().0 > stale_replica {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(3),
            "reads never returned to the replica"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 7. The replica goes down: reads fall back to the primary.
    pair.stop_replica();
    let down = Instant::now();
    while b.replicas.status().iter().any(|r| r.healthy) {
        assert!(
            down.elapsed() < Duration::from_secs(5),
            "the dead replica still takes reads"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, primary_reads) = b.replicas.reads();
    assert_eq!(item_address(&app_b, fid, None, &[]).await, "direct street 2");
    assert_eq!(tile_address(&app_b, fid, (xy.0, xy.1)).await, "direct street 2");
    assert!(b.replicas.reads().1 > primary_reads);
    // Nothing of ours ever ran a write on the replica.
    let replica_writes: Vec<String> = logged(&pair, "replica", "geoportal-replica")
        .into_iter()
        .filter(|l| is_write(l))
        .collect();
    assert!(replica_writes.is_empty(), "{replica_writes:?}");
    eprintln!("whole test: {:?}", started.elapsed());
}
