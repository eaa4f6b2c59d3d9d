//! The `geoportal` binary end to end: configuration, embedded and external
//! databases, users, backup and restore.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::TestDb;
use common::binary::{BIN, Served, free_port};

/// The binary with a clean environment: nothing from the developer's shell.
fn geoportal(data_dir: &Path, database_url: Option<&str>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("DATABASE_URL")
        .env_remove("GEOPORTAL_LISTEN")
        .env("GEOPORTAL_DATA_DIR", data_dir)
        .env("GEOPORTAL_LOG", "warn");
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd
}

fn ok(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn with_stdin(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// A plain HTTP/1.1 GET over a socket; returns the status line and body.
fn http_get(port: u16, path: &str) -> Option<(String, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

#[test]
fn every_command_has_help() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["demo", "--help"],
        vec!["user", "add", "--help"],
        vec!["backup", "--help"],
        vec!["restore", "--help"],
        vec!["db", "--help"],
    ] {
        let out = ok(geoportal(tmp.path(), None).args(&args).output().unwrap());
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    let out = ok(geoportal(tmp.path(), None).arg("--help").output().unwrap());
    for env in [
        "GEOPORTAL_LISTEN",
        "DATABASE_URL",
        "GEOPORTAL_DATA_DIR",
        "GEOPORTAL_PUBLIC_URL",
    ] {
        assert!(out.contains(env), "--help does not document {env}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn database_url_mode_uses_that_server_and_starts_no_cluster() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let url = db.url();
    ok(geoportal(tmp.path(), Some(&url)).arg("migrate").output().unwrap());
    let layers = ok(geoportal(tmp.path(), Some(&url)).arg("layers").output().unwrap());
    assert!(layers.contains("land_plots"), "{layers}");

    // The same data directory as the commands above: no cluster may appear in it.
    let mut server = Served::builder(&url)
        .data_dir(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .start();
    let port = server.port;
    let health = http_get(port, "/health").expect("/health answers");
    assert!(health.0.contains("200"), "{health:?}");
    assert!(health.1.contains("\"ok\""), "{health:?}");
    // SIGTERM: graceful shutdown, exit 0.
    let status = server.sigterm();
    assert!(status.success(), "{status}");
    let mut stdout = String::new();
    server.child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    assert!(
        stdout.contains(&format!("http://127.0.0.1:{port}/")),
        "prints its URL: {stdout}"
    );

    assert!(
        std::fs::symlink_metadata(tmp.path().join("postgres")).is_err(),
        "no embedded cluster may be created when DATABASE_URL is set"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_layer_file_stops_start_with_file_and_key() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let layers = tmp.path().join("layers");
    std::fs::create_dir(&layers).unwrap();
    for entry in std::fs::read_dir(common::layers_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, layers.join(path.file_name().unwrap())).unwrap();
    }
    let file = layers.join("streets.toml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replacen("minzoom", "min_zoom", 1);
    std::fs::write(&file, text).unwrap();
    let output = geoportal(tmp.path(), Some(&db.url()))
        .env("GEOPORTAL_LAYERS_DIR", &layers)
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("streets.toml") && stderr.contains("min_zoom"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn user_add_reads_the_password_from_stdin_and_stores_an_argon2id_hash() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = geoportal(tmp.path(), Some(&db.url()));
    cmd.args(["user", "add", "olena", "--roles", "land_editor,deputy"]);
    ok(with_stdin(cmd, "correct horse battery\n"));
    let (hash, roles): (String, Vec<String>) =
        sqlx::query_as("SELECT password_hash, roles FROM users WHERE username = 'olena'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));
    assert_eq!(roles, ["land_editor", "deputy"]);

    let mut cmd = geoportal(tmp.path(), Some(&db.url()));
    cmd.args(["user", "add", "petro", "--roles", "mayor"]);
    let out = with_stdin(cmd, "correct horse battery\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role `mayor`"));
}

async fn mutate(pool: &sqlx::PgPool) {
    sqlx::query(
        "UPDATE land_plots SET area_ha = area_ha + 1 WHERE id IN (SELECT id FROM land_plots ORDER BY id LIMIT 5)",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM payments WHERE id IN (SELECT id FROM payments ORDER BY id LIMIT 5)")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM users").execute(pool).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_and_restore_round_trip_every_table() {
    let db = TestDb::new().await.with_demo(0.03, 7).await;
    let tmp = tempfile::tempdir().unwrap();
    let url = db.url();
    let mut cmd = geoportal(tmp.path(), Some(&url));
    cmd.args(["user", "add", "admin", "--roles", "admin"]);
    ok(with_stdin(cmd, "a long enough password\n"));

    let before = common::all_table_checksums(&db.pool).await;
    assert!(before.len() > 25, "{before:?}");
    let file = tmp.path().join("city.backup");
    ok(geoportal(tmp.path(), Some(&url))
        .arg("backup")
        .arg(&file)
        .output()
        .unwrap());
    assert!(std::fs::metadata(&file).unwrap().len() > 10_000);

    mutate(&db.pool).await;
    assert_ne!(common::all_table_checksums(&db.pool).await, before);

    ok(geoportal(tmp.path(), Some(&url))
        .arg("restore")
        .arg(&file)
        .output()
        .unwrap());
    assert_eq!(common::all_table_checksums(&db.pool).await, before);

    let missing = geoportal(tmp.path(), Some(&url))
        .args(["restore", "/nonexistent.backup"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
}

/// The embedded mode, as `make run` uses it: a private cluster under the data
/// directory, created, migrated, backed up, restored and stopped.
#[tokio::test(flavor = "multi_thread")]
async fn embedded_cluster_starts_migrates_round_trips_and_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    struct Cleanup(std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = Command::new(BIN)
                .env("GEOPORTAL_DATA_DIR", &self.0)
                .args(["db", "stop"])
                .output();
            if let Ok(target) = std::fs::read_link(self.0.join("postgres")) {
                let _ = std::fs::remove_dir_all(target);
            }
        }
    }
    let _cleanup = Cleanup(data.clone());

    let mut cmd = geoportal(&data, None);
    cmd.args(["user", "add", "oksana", "--roles", "appeals_operator"]);
    ok(with_stdin(cmd, "another long password\n"));

    let url = ok(geoportal(&data, None).args(["db", "url"]).output().unwrap())
        .trim()
        .to_string();
    assert!(url.contains("host=/"), "a unix socket: {url}");
    let socket_dir = url.rsplit("host=").next().unwrap();
    assert!(socket_dir.len() + "/.s.PGSQL.5432".len() <= 107);

    // The process that started the cluster stopped it on exit.
    let pgdata = std::fs::canonicalize(data.join("postgres")).unwrap().join("pgdata");
    assert!(pgdata.join("PG_VERSION").exists());
    assert!(
        !pgdata.join("postmaster.pid").exists(),
        "the cluster must be stopped after the command"
    );

    let file = tmp.path().join("embedded.backup");
    ok(geoportal(&data, None).arg("backup").arg(&file).output().unwrap());
    ok(geoportal(&data, None).args(["db", "start"]).output().unwrap());
    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect_with(options)
        .await
        .unwrap();
    sqlx::query("DELETE FROM users").execute(&pool).await.unwrap();
    pool.close().await;
    // A running cluster is reused, and left running by a command that did not start it.
    ok(geoportal(&data, None).arg("restore").arg(&file).output().unwrap());
    assert!(pgdata.join("postmaster.pid").exists());
    let pool = sqlx::postgres::PgPoolOptions::new()
        .connect_with(url.parse::<sqlx::postgres::PgConnectOptions>().unwrap())
        .await
        .unwrap();
    let users: Vec<String> = sqlx::query_scalar("SELECT username FROM users")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(users, ["oksana"]);
    ok(geoportal(&data, None).args(["db", "stop"]).output().unwrap());
    assert!(!pgdata.join("postmaster.pid").exists());
}
