//! Browser tests: the real router served on a loopback port over a test
//! database, and a `node --test` file of `web/e2e/` driving Debian's
//! Chromium against it (see web/e2e/browser.mjs).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// The built portal and the browser are prerequisites that `make test`
/// installs; without them the test fails and says what to run.
pub fn require_built_portal() {
    let web = web_dir();
    assert!(
        web.join("dist/index.html").exists() && web.join("node_modules/playwright-core").exists(),
        "the web portal is not built: run `make test` (or `cd web && npm ci && npm run build`)"
    );
    assert!(
        Path::new(&std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())).exists(),
        "Chromium is missing: `make test` installs Debian's chromium"
    );
}

/// Serves `app` on 127.0.0.1 (a free port) for the rest of the test.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .expect("serve");
    });
    addr
}

/// Runs `node --test web/e2e/<file>` against `addr` with extra environment;
/// panics with the node output when a browser test fails.
pub async fn run_e2e(file: &str, addr: SocketAddr, env: &[(&str, String)]) {
    // One browser at a time per test binary: two Chromiums and their
    // servers on two cores made page loads miss the tests' 30 s waits.
    static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_BROWSER.lock().await;
    let mut cmd = tokio::process::Command::new("node");
    cmd.current_dir(web_dir())
        .arg("--test")
        .arg("--test-reporter=spec")
        .arg(format!("e2e/{file}"))
        .env("GEOPORTAL_BASE_URL", format!("http://{addr}"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "browser test {file} failed:\n{stdout}\n{stderr}");
    println!("{stdout}");
}
