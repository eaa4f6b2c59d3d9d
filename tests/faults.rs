//! Faults, against the real binary: PostgreSQL stopped immediately under
//! load, the server or the CLI killed with SIGKILL in the middle of an
//! import, statements cut by `statement_timeout`, an exhausted pool.
//!
//! Each test starts its own durable PostgreSQL cluster (under
//! `/tmp/gp-fault-…`), so stopping it disturbs no other test. Durable:
//! the shared test cluster runs with `synchronous_commit = off`, where an
//! immediate stop may lose a commit that was already answered.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestDb;
use common::binary::{self, Served};
use geoportal::db::{Cluster, Durability};
use geoportal::registry::Role;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

const DB: &str = "geoportal";

/// A private cluster; stopped (immediately) and removed on drop.
struct FaultCluster {
    cluster: Cluster,
}

impl FaultCluster {
    fn start(name: &str) -> FaultCluster {
        let base = PathBuf::from(format!("/tmp/gp-fault-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let cluster = Cluster::at(base, Durability::Durable)
            .unwrap()
            .ensure_running()
            .unwrap()
            .detach();
        FaultCluster { cluster }
    }

    fn url(&self) -> String {
        self.cluster.url(DB)
    }

    async fn create_database(&self) {
        geoportal::db::create_database_if_missing(&self.cluster, DB)
            .await
            .unwrap();
    }

    /// `pg_ctl stop -m immediate`: every backend dies at once, no checkpoint.
    fn kill_immediately(&self) {
        let out = self.pg_ctl(&["stop", "-m", "immediate", "-w", "-t", "60"]);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts it again (crash recovery runs first); waits until it accepts connections.
    fn restart(&self) {
        let out = self.pg_ctl(&[
            "start",
            "-l",
            &self.cluster.log_file.to_string_lossy(),
            "-w",
            "-t",
            "120",
        ]);
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let pg_ctl = self.cluster.bin("pg_ctl");
        let pgdata = self.cluster.pgdata.to_string_lossy().to_string();
        let root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
        let mut cmd = if root.unwrap_or(false) {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        cmd.arg("-D").arg(&pgdata).args(args);
        cmd.stdin(Stdio::null()).output().unwrap()
    }

    async fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(4)
            .connect_with(geoportal::db::quiet(self.cluster.connect_options(DB)))
            .await
            .unwrap()
    }
}

impl Drop for FaultCluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w", "-t", "60"]);
        let _ = std::fs::remove_dir_all(&self.cluster.base);
        let _ = std::fs::remove_dir_all(&self.cluster.socket_dir);
    }
}

/// The server binary on `url`, logging at `info` into its `server.log`.
fn serve(url: &str, env: &[(&str, &str)]) -> Served {
    Served::builder(url).log_level("info").envs(env).start()
}

#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// One HTTP/1.1 request on its own connection; None when the connection
/// fails or the answer does not come within 60 s.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Option<Reply> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some(Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}

async fn token(pool: &PgPool, name: &str, roles: &[Role]) -> String {
    let id = geoportal::users::add(pool, name, roles, "long-password-1")
        .await
        .unwrap();
    geoportal::auth::issue_session(pool, id, Duration::from_secs(3600), None)
        .await
        .unwrap()
        .0
}

/// A tariff whose date and price encode `n`, so each write can be found.
fn tariff(n: u32) -> (String, String) {
    let date = chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap() + chrono::Duration::days(i64::from(n));
    (date.to_string(), format!("{}.25", 1000 + n))
}

fn tariff_body(n: u32) -> Vec<u8> {
    let (date, price) = tariff(n);
    serde_json::json!({
        "type": "Feature",
        "geometry": null,
        "properties": {"resource": "gas_m3", "valid_from": date, "price_uah": price.parse::<f64>().unwrap()}
    })
    .to_string()
    .into_bytes()
}

#[derive(Debug)]
struct Outcome {
    kind: &'static str,
    n: u32,
    reply: Option<Reply>,
    elapsed: Duration,
    /// Whether PostgreSQL was down when the request was sent.
    while_down: bool,
}

/// PostgreSQL dies under mixed reads and writes: nothing hangs, every
/// failure is a fast 503 with `Retry-After`, the server recovers by itself
/// within 5 s of PostgreSQL's return, and every write that was answered
/// 2xx is there afterwards, whole (row and history entry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_stopped_under_load_fails_fast_and_recovers() {
    let pg = FaultCluster::start("stop");
    pg.create_database().await;
    let request_timeout = 10u64;
    let mut server = serve(
        &pg.url(),
        &[
            ("GEOPORTAL_REQUEST_TIMEOUT", "10"),
            ("GEOPORTAL_DB_ACQUIRE_TIMEOUT_MS", "1000"),
        ],
    );
    let pool = pg.pool().await;
    let token = token(&pool, "energy", &[Role::EnergyEditor]).await;
    pool.close().await;
    let port = server.port;

    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let next = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut clients = Vec::new();
    for c in 0..4 {
        let (down, stop, outcomes, next, token) = (
            down.clone(),
            stop.clone(),
            outcomes.clone(),
            next.clone(),
            token.clone(),
        );
        clients.push(std::thread::spawn(move || {
            let auth = format!("Bearer {token}");
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                i += 1;
                let while_down = down.load(std::sync::atomic::Ordering::SeqCst);
                let started = Instant::now();
                let (kind, n, reply) = match (c + i) % 4 {
                    0 | 1 => {
                        let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let reply = http(
                            port,
                            "POST",
                            "/ogc/collections/tariffs/items",
                            &[("Authorization", &auth), ("Content-Type", "application/geo+json")],
                            &tariff_body(n),
                        );
                        ("write", n, reply)
                    }
                    2 => (
                        "read",
                        0,
                        http(port, "GET", "/ogc/collections/tariffs/items?limit=5", &[], b""),
                    ),
                    _ => ("layer", 0, http(port, "GET", "/api/layers/tariffs", &[], b"")),
                };
                outcomes.lock().unwrap().push(Outcome {
                    kind,
                    n,
                    reply,
                    elapsed: started.elapsed(),
                    while_down,
                });
                std::thread::sleep(Duration::from_millis(20));
            }
        }));
    }

    // Load on a healthy database, then the crash, 3 s of load against nothing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    pg.kill_immediately();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // PostgreSQL returns (crash recovery first); the load goes on.
    pg.restart();
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    let back = Instant::now();
    let mut recovered = None;
    while back.elapsed() < Duration::from_secs(15) {
        let health = http(port, "GET", "/health", &[], b"").map(|r| r.status);
        let read = http(port, "GET", "/ogc/collections/tariffs/items?limit=1", &[], b"").map(|r| r.status);
        if health == Some(200) && read == Some(200) {
            recovered = Some(back.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let recovered = recovered.unwrap_or_else(|| panic!("no recovery within 15 s: {}", server.log_text()));
    assert!(
        recovered <= Duration::from_secs(5),
        "recovered only after {recovered:?}"
    );

    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    let mut during = 0;
    let mut answered = Vec::new();
    for o in outcomes.iter() {
        assert!(
            o.elapsed < Duration::from_secs(request_timeout),
            "a request hung for {:?}: {o:?}",
            o.elapsed
        );
        let reply = o
            .reply
            .as_ref()
            .unwrap_or_else(|| panic!("no answer at all (connection dropped): {o:?}"));
        match reply.status {
            200..=299 => {
                if o.kind == "write" {
                    answered.push(o.n);
                }
            }
            503 => {
                during += 1;
                assert!(
                    reply.header("retry-after").is_some(),
                    "503 without Retry-After: {reply:?}"
                );
                assert!(
                    reply
                        .header("content-type")
                        .is_some_and(|c| c.starts_with("application/problem+json")),
                    "{reply:?}"
                );
                // Failing fast: the acquire timeout (1 s) and a little more.
                assert!(o.elapsed < Duration::from_secs(4), "a slow 503: {o:?}");
            }
            other => panic!("status {other} for {o:?}\nlog: {}", server.log_text()),
        }
    }
    let while_down = outcomes.iter().filter(|o| o.while_down).count();
    assert!(during > 0 && while_down > 0, "the outage was not exercised");
    assert!(!answered.is_empty(), "no write succeeded");
    let answered_after = outcomes
        .iter()
        .filter(|o| {
            !o.while_down && o.kind == "write" && o.reply.as_ref().is_some_and(|r| (200..300).contains(&r.status))
        })
        .count();
    assert!(answered_after > 0, "no write succeeded outside the outage");
    server.sigkill();

    // Every answered write is there, whole: the row as sent and its history entry.
    let pool = pg.pool().await;
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT t.id, t.valid_from::text, t.price_uah::text, \
                (SELECT count(*) FROM history h WHERE h.table_name = 'tariffs' AND h.feature_id = t.id \
                   AND h.operation = 'insert') \
         FROM tariffs t WHERE t.resource = 'gas_m3'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for n in &answered {
        let (date, price) = tariff(*n);
        let row = rows.iter().find(|r| r.1 == date);
        let row = row.unwrap_or_else(|| panic!("write {n} was answered 2xx but is missing"));
        assert_eq!(
            row.2.parse::<f64>().unwrap(),
            price.parse::<f64>().unwrap(),
            "write {n}"
        );
    }
    for r in &rows {
        assert_eq!(r.3, 1, "row {} has {} insert history entries", r.0, r.3);
    }
    pool.close().await;
}

/// A CSV of `n` tariffs (unique resource and date), about 40 bytes a row.
fn tariffs_csv(n: u32) -> String {
    let resources = [
        "heat_gcal",
        "electricity_kwh",
        "gas_m3",
        "cold_water_m3",
        "hot_water_m3",
    ];
    let mut csv = String::from("resource,valid_from,price_uah\n");
    let first = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
    for i in 0..n {
        let date = first + chrono::Duration::days(i64::from(i / 5));
        csv.push_str(&format!("{},{date},{}.5\n", resources[(i % 5) as usize], i % 997));
    }
    csv
}

/// Waits until some session holds a write lock on `tariffs` (an import is
/// inserting rows), then a little longer.
async fn wait_for_import_writing(pool: &PgPool, what: &str) {
    let start = Instant::now();
    loop {
        let writing: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = 'tariffs' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if writing > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the {what} import never started writing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Nothing of an import is left: no row, no batch, no history entry; waits
/// for PostgreSQL to notice the dead client and roll back.
async fn assert_nothing_imported(pool: &PgPool, what: &str) {
    let start = Instant::now();
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND xact_start IS NOT NULL",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the killed {what} import's transaction stays open"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM tariffs")
        .fetch_one(pool)
        .await
        .unwrap();
    let batches: i64 = sqlx::query_scalar("SELECT count(*) FROM import_batches")
        .fetch_one(pool)
        .await
        .unwrap();
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM history WHERE table_name = 'tariffs'")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        (rows, batches, history),
        (0, 0, 0),
        "the killed {what} import left something behind"
    );
}

/// SIGKILL in the middle of an import, through the CLI and through HTTP
/// (the server killed): nothing of it is left; the same import run to its
/// end afterwards brings every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_killed_midway_leaves_all_or_nothing() {
    let pg = FaultCluster::start("import");
    pg.create_database().await;
    let dir = tempfile::tempdir().unwrap();
    let rows = 1_500;
    let file = dir.path().join("tariffs.csv");
    std::fs::write(&file, tariffs_csv(rows)).unwrap();
    // The server migrates the database; the CLI runs next to it.
    let mut server = serve(&pg.url(), &[]);
    let pool = pg.pool().await;
    let token = token(&pool, "energy", &[Role::EnergyEditor]).await;

    // 1. The CLI, killed.
    let cli = |file: &Path| {
        let mut c = binary::command(&pg.url());
        c.args(["import", "--layer", "tariffs"])
            .arg(file)
            .env("GEOPORTAL_DATA_DIR", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    let mut child = cli(&file).spawn().unwrap();
    wait_for_import_writing(&pool, "CLI").await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the CLI import finished before it could be killed"
    );
    child.kill().unwrap();
    let _ = child.wait();
    assert_nothing_imported(&pool, "CLI").await;

    // 2. The server, killed while an HTTP import runs.
    let port = server.port;
    let body = std::fs::read(&file).unwrap();
    let auth = format!("Bearer {token}");
    let upload = std::thread::spawn(move || {
        http(
            port,
            "POST",
            "/api/layers/tariffs/import",
            &[("Authorization", &auth), ("Content-Type", "text/csv")],
            &body,
        )
    });
    wait_for_import_writing(&pool, "HTTP").await;
    server.sigkill();
    let answer = upload.join().unwrap();
    assert!(
        answer.is_none(),
        "the HTTP import was answered before the kill: {answer:?}"
    );
    assert_nothing_imported(&pool, "HTTP").await;

    // 3. All: the same file, to the end.
    let t = Instant::now();
    let out = cli(&file).output().unwrap();
    eprintln!("{rows} rows imported by the CLI in {:?}", t.elapsed());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM tariffs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, i64::from(rows));
    let batches: i64 = sqlx::query_scalar("SELECT count(*) FROM import_batches")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(batches, 1);
    pool.close().await;
}

fn assert_problem_503(reply: &Reply) {
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.header("retry-after").is_some(), "no Retry-After: {reply:?}");
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/problem+json")),
        "{reply:?}"
    );
    let doc: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    assert_eq!(doc["status"], 503, "{reply:?}");
    let detail = doc["detail"].as_str().unwrap_or("");
    assert!(
        !detail.contains("SELECT") && !detail.contains("FROM"),
        "the problem leaks SQL: {detail}"
    );
}

/// A statement stuck behind a lock is cut by `statement_timeout` (503, the
/// worker is free again); requests that find the pool exhausted get a 503
/// with `Retry-After` after the short acquire timeout; an import is not cut
/// by the statement timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_and_exhausted_pool_answer_503() {
    let pg = FaultCluster::start("timeout");
    pg.create_database().await;
    let server = serve(
        &pg.url(),
        &[
            ("GEOPORTAL_STATEMENT_TIMEOUT", "2"),
            ("GEOPORTAL_DB_POOL_SIZE", "3"),
            ("GEOPORTAL_DB_ACQUIRE_TIMEOUT_MS", "300"),
        ],
    );
    let port = server.port;
    let pool = pg.pool().await;
    let token = token(&pool, "energy", &[Role::EnergyEditor]).await;

    // Hold every layer table a request reads (here: the tariffs and the land plots).
    let mut locker = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE tariffs, land_plots IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *locker)
        .await
        .unwrap();
    let started = Instant::now();
    let mut requests = Vec::new();
    for path in [
        "/ogc/collections/tariffs/items?filter=price_uah%20%3E%201",
        "/tiles/land_plots/14/9496/5538.mvt",
        "/ogc/collections/tariffs/items",
        "/ogc/collections/land_plots/items?limit=3",
    ] {
        requests.push(std::thread::spawn(move || {
            let t = Instant::now();
            (path, http(port, "GET", path, &[], b""), t.elapsed())
        }));
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut timed_out = 0;
    let mut exhausted = 0;
    for r in requests {
        let (path, reply, elapsed) = r.join().unwrap();
        let reply = reply.unwrap_or_else(|| panic!("{path}: no answer"));
        assert_problem_503(&reply);
        assert!(elapsed < Duration::from_secs(6), "{path} took {elapsed:?}");
        if reply.body.contains("took too long") {
            timed_out += 1;
        } else if reply.body.contains("not available") {
            exhausted += 1;
            assert!(
                elapsed < Duration::from_millis(1800),
                "{path}: exhausted pool answered after {elapsed:?}"
            );
        }
    }
    assert!(timed_out >= 1, "no request was cut by the statement timeout");
    assert!(exhausted >= 1, "no request found the pool exhausted");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The workers are free: with the lock still held, a request that needs no
    // locked table answers at once.
    let layers = http(port, "GET", "/api/layers", &[], b"").unwrap();
    assert_eq!(layers.status, 200, "{layers:?}");
    locker.rollback().await.unwrap();
    let items = http(port, "GET", "/ogc/collections/tariffs/items", &[], b"").unwrap();
    assert_eq!(items.status, 200, "{items:?}");

    // An import waits on the same lock longer than the statement timeout and still succeeds.
    let mut locker = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE tariffs IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *locker)
        .await
        .unwrap();
    let auth = format!("Bearer {token}");
    let upload = std::thread::spawn(move || {
        http(
            port,
            "POST",
            "/api/layers/tariffs/import",
            &[("Authorization", &auth), ("Content-Type", "text/csv")],
            tariffs_csv(50).as_bytes(),
        )
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    locker.rollback().await.unwrap();
    let answer = upload.join().unwrap().unwrap();
    assert_eq!(answer.status, 200, "{answer:?}\n{}", server.log_text());
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM tariffs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 50);
    pool.close().await;
    assert!(!server.log_text().contains("panicked"), "{}", server.log_text());
}

/// The mapping itself, on real errors: unreachable, exhausted, cancelled →
/// 503 with `Retry-After`; any other database error → 500 naming no SQL.
#[tokio::test]
async fn database_errors_map_to_503_or_a_bare_500() {
    use axum::response::IntoResponse;
    use geoportal::error::AppError;
    use http_body_util::BodyExt;
    let db = TestDb::new().await;
    let mut conn = db.pool.acquire().await.unwrap();
    sqlx::query("SET statement_timeout = '50ms'")
        .execute(&mut *conn)
        .await
        .unwrap();
    let cancelled = sqlx::query("SELECT pg_sleep(2)").execute(&mut *conn).await.unwrap_err();
    let syntax = sqlx::query("SELECT secret_column FROM no_such_table_xyz")
        .execute(&mut *conn)
        .await
        .unwrap_err();
    drop(conn);
    let refused = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy("postgresql://postgres@127.0.0.1:1/none")
        .unwrap()
        .acquire()
        .await
        .unwrap_err();
    let cases = [
        ("statement timeout", cancelled, 503),
        ("refused", refused, 503),
        ("pool timed out", sqlx::Error::PoolTimedOut, 503),
        ("closed", sqlx::Error::PoolClosed, 503),
        ("io", sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()), 503),
        ("syntax", syntax, 500),
    ];
    for (what, e, expected) in cases {
        let response = AppError::Database(e).into_response();
        assert_eq!(response.status().as_u16(), expected, "{what}");
        assert_eq!(
            response.headers().contains_key("retry-after"),
            expected == 503,
            "{what}"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert!(
            !text.contains("no_such_table") && !text.contains("SELECT") && !text.contains("secret_column"),
            "{what}: {text}"
        );
    }
    // Wrapped in anyhow, the same.
    let wrapped = AppError::Internal(anyhow::Error::new(sqlx::Error::PoolTimedOut).context("loading"));
    assert_eq!(wrapped.into_response().status().as_u16(), 503);
}
