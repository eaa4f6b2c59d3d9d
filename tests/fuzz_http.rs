//! HTTP fuzzing of every operation in our OpenAPI document with
//! schemathesis (PyPI; `make test` installs it into `target/fuzz-venv`),
//! against the real binary on the demo city: no 5xx, no panic. Bounded: a
//! few examples per operation, a fixed seed, a time limit.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;
use common::binary::Served;
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
    // Its stderr goes to `server.log` in its data directory, read at the end.
    let mut server = Served::builder(&db.url())
        .env("GEOPORTAL_REQUEST_TIMEOUT", "20")
        .start();
    let port = server.port;
    let dir = server.data_dir().to_path_buf();

    let report = dir.join("junit.xml");
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
        .current_dir(&dir)
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
    server.sigkill();
    let server_log = server.log_text();
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
