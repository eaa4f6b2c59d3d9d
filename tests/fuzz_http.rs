//! HTTP fuzzing of every operation in our OpenAPI document with
//! schemathesis (PyPI; `make test` installs it into `target/fuzz-venv`),
//! against the real binary on the demo city: no 5xx, no panic. Bounded: a
//! few examples per operation, a fixed seed, a time limit.

mod common;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;
use geoportal::registry::Role;

/// schemathesis: `GEOPORTAL_SCHEMATHESIS`, else the venv `make test` fills.
fn schemathesis() -> PathBuf {
    if let Ok(p) = std::env::var("GEOPORTAL_SCHEMATHESIS") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-venv/bin/schemathesis");
    assert!(
        venv.exists(),
        "schemathesis is not installed: run `make fuzz-deps` (a venv in target/fuzz-venv) \
         or set GEOPORTAL_SCHEMATHESIS"
    );
    venv
}

fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split(' ').nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_operations_survive_schemathesis() {
    let st = schemathesis();
    let db = TestDb::new().await.with_demo(0.05, 17).await;
    let id = geoportal::users::add(
        &db.pool,
        "fuzz_admin",
        &[Role::Admin, Role::LandEditor],
        "long-password-1",
    )
    .await
    .unwrap();
    let token = geoportal::auth::issue_session(&db.pool, id, Duration::from_secs(3600), None)
        .await
        .unwrap()
        .0;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.path().join("server.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_geoportal"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", db.url())
        .env("GEOPORTAL_LISTEN", format!("127.0.0.1:{port}"))
        .env("GEOPORTAL_DATA_DIR", dir.path())
        .env("GEOPORTAL_LOG", "warn")
        .env("GEOPORTAL_REQUEST_TIMEOUT", "20")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while http_status(port, "/health") != Some(200) {
        assert!(start.elapsed() < Duration::from_secs(120), "the server did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let report = dir.path().join("junit.xml");
    let mut fuzz = Command::new(&st)
        .args([
            "run",
            &format!("http://127.0.0.1:{port}/api/openapi.json"),
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "4",
            "--seed",
            "9",
            "--workers",
            "2",
            "--request-timeout",
            "25",
            "--no-shrink",
            "--no-color",
            "--suppress-health-check",
            "all",
            "--generation-database",
            "none",
            "--report",
            "junit",
            "--report-junit-path",
        ])
        .arg(&report)
        .args(["-H", &format!("Authorization: Bearer {token}")])
        // Signing out would end the fuzzer's own session.
        .args(["--exclude-path", "/api/auth/logout"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: three minutes at most.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = fuzz.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(180) {
            let _ = fuzz.kill();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let output = fuzz.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let _ = server.kill();
    let _ = server.wait();
    let server_log = std::fs::read_to_string(&log).unwrap_or_default();
    eprintln!("schemathesis ran {:?}\n{stdout}", started.elapsed());
    let status = status.unwrap_or_else(|| panic!("schemathesis did not finish within 3 minutes\n{stdout}"));
    assert!(!server_log.contains("panicked"), "the server panicked:\n{server_log}");
    assert!(
        status.success(),
        "schemathesis found failures ({status}):\n{stdout}\n{stderr}\nserver log:\n{server_log}"
    );
    // It really ran: operations were tested.
    assert!(stdout.contains("passed") || stdout.contains("PASSED"), "{stdout}");
}
