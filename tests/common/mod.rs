//! Test harness: a real PostgreSQL + PostGIS, never a mock.
//!
//! Without `DATABASE_URL`, one private cluster per test run is started from
//! the system's binaries (under `GEOPORTAL_TEST_CLUSTER`, default
//! `/tmp/geoportal-test-<hash>`; `make test` removes it before and after).
//! Test binaries share it through a lock file. The migrations are applied
//! once to a template database; every test gets its own database cloned from
//! it, so tests run in parallel and never share state. With `DATABASE_URL`,
//! the same happens on that server.
#![allow(dead_code)]

pub mod binary;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use geoportal::config::Config;
use geoportal::db::{self, Cluster, Durability};
use geoportal::registry::{self, Registry};
use geoportal::server::{self, AppState};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;

/// The server the tests use and the template every test database copies.
struct Server {
    admin: PgConnectOptions,
    template: String,
    /// libpq URL of a database, given its name.
    url_base: UrlBase,
}

enum UrlBase {
    Socket(PathBuf),
    External(String),
}

static SERVER: OnceCell<Server> = OnceCell::const_new();

pub fn cluster_dir() -> PathBuf {
    match std::env::var("GEOPORTAL_TEST_CLUSTER") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => {
            let digest = Sha256::digest(env!("CARGO_MANIFEST_DIR").as_bytes());
            std::env::temp_dir().join(format!("geoportal-test-{}", hex::encode(&digest[..6])))
        }
    }
}

fn migrations_hash() -> String {
    let mut h = Sha256::new();
    for m in db::MIGRATOR.iter() {
        h.update(m.version.to_le_bytes());
        h.update(&m.checksum);
    }
    hex::encode(&h.finalize()[..6])
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

async fn server() -> &'static Server {
    SERVER
        .get_or_init(|| async {
            let (admin, url_base) = match std::env::var("DATABASE_URL") {
                Ok(url) => {
                    let admin: PgConnectOptions = url.parse().expect("DATABASE_URL must be a PostgreSQL URL");
                    let base = url
                        .split('?')
                        .next()
                        .unwrap_or(&url)
                        .rsplit_once('/')
                        .map_or(url.clone(), |(b, _)| b.to_string());
                    (admin, UrlBase::External(base))
                }
                Err(_) => {
                    let cluster = tokio::task::spawn_blocking(|| {
                        let cluster = Cluster::at(cluster_dir(), Durability::Ephemeral).expect("test cluster paths");
                        // Left running for the other test binaries of this run; `make test` stops it.
                        cluster.ensure_running().expect("start the test cluster").detach()
                    })
                    .await
                    .expect("cluster start task");
                    (
                        cluster.connect_options("postgres"),
                        UrlBase::Socket(cluster.socket_dir.clone()),
                    )
                }
            };
            let admin = db::quiet(admin);
            let template = format!("geoportal_tpl_{}", migrations_hash());
            let mut conn = PgConnection::connect_with(&admin)
                .await
                .expect("connect to the test server");
            // Serialise template creation across test processes.
            sqlx::query("SELECT pg_advisory_lock(8080)")
                .execute(&mut conn)
                .await
                .expect("advisory lock");
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&template)
                .fetch_one(&mut conn)
                .await
                .expect("look up template");
            if !exists {
                let building = format!("{template}_building");
                sqlx::query(&format!("DROP DATABASE IF EXISTS {}", quote_ident(&building)))
                    .execute(&mut conn)
                    .await
                    .expect("drop half-built template");
                sqlx::query(&format!("CREATE DATABASE {}", quote_ident(&building)))
                    .execute(&mut conn)
                    .await
                    .expect("create template");
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(admin.clone().database(&building))
                    .await
                    .expect("connect to template");
                db::MIGRATOR.run(&pool).await.expect("migrate template");
                pool.close().await;
                // The server may not have seen the pool's sessions end yet;
                // renaming needs the database free of connections.
                let rename = format!(
                    "ALTER DATABASE {} RENAME TO {}",
                    quote_ident(&building),
                    quote_ident(&template)
                );
                let mut attempt = 0;
                loop {
                    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
                        .bind(&building)
                        .execute(&mut conn)
                        .await
                        .expect("end sessions on the template");
                    match sqlx::query(&rename).execute(&mut conn).await {
                        Ok(_) => break,
                        Err(e) if attempt < 50 => {
                            attempt += 1;
                            eprintln!("template busy ({e}), retrying");
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!("publish template: {e}"),
                    }
                }
            }
            prune_old_databases(&mut conn).await;
            sqlx::query("SELECT pg_advisory_unlock(8080)")
                .execute(&mut conn)
                .await
                .expect("unlock");
            conn.close().await.ok();
            Server {
                admin,
                template,
                url_base,
            }
        })
        .await
}

/// Test databases of earlier runs that were not cleaned up (a reused cluster
/// or an external server): dropped when older than two hours.
async fn prune_old_databases(conn: &mut PgConnection) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE 'gptest\\_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for name in names {
        let created: u64 = name.split('_').nth(1).and_then(|s| s.parse().ok()).unwrap_or(now);
        if now.saturating_sub(created) > 7200 {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&name)))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// A fresh, migrated, empty database of its own.
pub struct TestDb {
    pub pool: PgPool,
    pub name: String,
    pub options: PgConnectOptions,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let server = server().await;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let name = format!("gptest_{now}_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect_with(&server.admin)
            .await
            .expect("connect to the test server");
        sqlx::query(&format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&name),
            quote_ident(&server.template)
        ))
        .execute(&mut conn)
        .await
        .expect("clone the template database");
        conn.close().await.ok();
        let options = server.admin.clone().database(&name);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await
            .expect("connect to the test database");
        TestDb { pool, name, options }
    }

    /// A libpq URL for this database (to hand to the `geoportal` binary).
    pub fn url(&self) -> String {
        match &server_now().url_base {
            UrlBase::Socket(dir) => format!("postgresql://postgres@localhost/{}?host={}", self.name, dir.display()),
            UrlBase::External(base) => format!("{base}/{}", self.name),
        }
    }

    /// Loads the demo city at a tiny scale.
    pub async fn with_demo(self, scale: f64, seed: u64) -> TestDb {
        geoportal::demo::load(&self.pool, &geoportal::demo::DemoOptions { scale, seed }, false)
            .await
            .expect("load the demo city");
        self
    }
}

fn server_now() -> &'static Server {
    SERVER.get().expect("server initialised by TestDb::new")
}

/// The registry of the repository's `layers/`, checked against `db`.
pub async fn registry(db: &TestDb) -> Registry {
    let registry = Registry::load_dir(&layers_dir()).expect("layer files load");
    registry::check_against_database(&registry, &db.pool)
        .await
        .expect("layer files match the schema");
    registry
}

pub fn layers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("layers")
}

/// The application router on `db`, with `registry`.
pub fn app_with(db: &TestDb, registry: Registry) -> axum::Router {
    app_with_config(db, registry, |_| {})
}

/// The router with the test defaults changed by `change`.
pub fn app_with_config(db: &TestDb, registry: Registry, change: impl FnOnce(&mut Config)) -> axum::Router {
    let mut config = Config::defaults();
    config.web_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/dist");
    config.styles_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("styles");
    change(&mut config);
    server::router(AppState::new(db.pool.clone(), Arc::new(registry), Arc::new(config)))
}

pub async fn app(db: &TestDb) -> axum::Router {
    let registry = registry(db).await;
    app_with(db, registry)
}

/// Sends a GET through the router; returns status, content type and body.
pub async fn get(app: &axum::Router, uri: &str) -> (axum::http::StatusCode, String, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let response = app
        .clone()
        .oneshot(
            axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await
        .expect("router answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, content_type, body)
}

pub async fn get_json(app: &axum::Router, uri: &str) -> (axum::http::StatusCode, serde_json::Value) {
    let (status, _, body) = get(app, uri).await;
    (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
}

/// md5 of every row of every table of the public schema (PostGIS's own
/// spatial_ref_sys aside), for comparing whole databases.
pub async fn all_table_checksums(pool: &PgPool) -> std::collections::BTreeMap<String, String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("list tables");
    let mut out = std::collections::BTreeMap::new();
    for t in tables {
        let sum: String = sqlx::query_scalar(&format!(
            "SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {} x",
            quote_ident(&t)
        ))
        .fetch_one(pool)
        .await
        .expect("checksum");
        out.insert(t, sum);
    }
    out
}
